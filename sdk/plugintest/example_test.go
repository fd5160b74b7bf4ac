package plugintest_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/plugintest"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// upper answers a chat with the last message in upper case.
type upper struct{}

func (upper) Describe(context.Context) (*provider.Info, error) {
	return &provider.Info{Name: "upper", Version: "0.1.0", Models: []provider.Model{{ID: "upper-1", Modality: provider.ModalityText}}}, nil
}

func (upper) Configure(context.Context, provider.Config) error { return nil }

func (upper) Chat(_ context.Context, req *provider.ChatRequest) (*provider.ChatResponse, error) {
	text := req.Messages[len(req.Messages)-1].Text()
	return &provider.ChatResponse{Content: strings.ToUpper(text), Usage: provider.Usage{InputTokens: 1, OutputTokens: 1}}, nil
}

// exampleT stands in for the *testing.T a real test has, so that this
// example can run: Provider needs somewhere to report failures and to
// register the connection's cleanup.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (*exampleT) Helper()                      {}
func (t *exampleT) Cleanup(f func())           { t.cleanups = append(t.cleanups, f) }
func (*exampleT) Fatal(args ...any)            { log.Fatal(args...) }
func (*exampleT) Fatalf(f string, args ...any) { log.Fatalf(f, args...) }
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// In a test, pass the test's t. The client speaks to the provider over
// real gRPC, as the core would: what it returns has crossed the plugin
// boundary, and an ability the provider lacks fails with KindUnsupported.
func ExampleProvider() {
	t := &exampleT{}
	defer t.done()

	client := plugintest.Provider(t, upper{})

	info, err := client.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(info.Name, info.Capabilities)

	resp, err := client.Chat(context.Background(), &provider.ChatRequest{
		Model:    "upper-1",
		Messages: []provider.Message{provider.TextMessage(provider.RoleUser, "hello")},
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(resp.Content)

	_, err = client.Embed(context.Background(), &provider.EmbedRequest{Model: "upper-1", Input: []string{"x"}})
	fmt.Println(provider.KindOf(err))
	// Output:
	// upper [chat]
	// HELLO
	// unsupported
}
