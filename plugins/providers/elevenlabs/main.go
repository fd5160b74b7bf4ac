package main

import "github.com/oneflow-ai/oneflow/sdk/provider"

func main() { provider.Serve(&Plugin{}) }
