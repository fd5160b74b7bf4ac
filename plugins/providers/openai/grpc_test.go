package main

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/plugintest"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// TestOverGRPC runs the plugin behind the sdk's real gRPC path, as the
// core sees it: chunks arrive in order and a failed stream's partial usage
// and error kind cross the process boundary.
func TestOverGRPC(t *testing.T) {
	spec := fixture(t, "chat_completion_stream.sse")
	events := toStrings(splitEvents(spec))
	tests := []struct {
		name    string
		body    string
		want    []provider.ChatChunk
		kind    provider.Kind
		partial *provider.Usage
	}{
		{name: "spec stream", body: string(spec), want: specChunks(specUsage)},
		{
			name:    "vendor error mid-stream",
			body:    events[0] + events[1] + `data: {"error":{"message":"The engine is currently overloaded, please try again later.","type":"server_error","param":null,"code":null}}` + "\n\n",
			want:    specChunks(specUsage)[:2],
			kind:    provider.KindUnavailable,
			partial: &provider.Usage{InputTokens: helloPromptTokens, OutputTokens: 2, Estimated: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fv := newFakeVendor(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = w.Write([]byte(tt.body))
			})
			client := plugintest.Provider(t, newPlugin(t, fv))
			var got []provider.ChatChunk
			err := client.ChatStream(context.Background(), helloRequest(), collect(&got))
			if tt.partial == nil {
				if err != nil {
					t.Fatalf("ChatStream: %v", err)
				}
			} else {
				pe := asProviderError(t, err, tt.kind)
				checkPartial(t, pe, *tt.partial, got)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("chunks:\n%s\nwant:\n%s", dump(got), dump(tt.want))
			}
		})
	}
}
