package main

import "github.com/oneflow-ai/oneflow/sdk/strategy"

func main() { strategy.Serve(&Strategy{}) }
