// Command openai-client calls OneFlow with the official OpenAI Go SDK,
// changed only in its base URL and key: it lists the models, asks one
// question, streams another answer, and prints who answered and what each
// call cost in credits.
//
//	ONEFLOW_URL=http://127.0.0.1:8080 ONEFLOW_API_KEY=$(cat data/admin.key) \
//	  go run ./examples/openai-client -model auto:cost "Say hello"
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "openai-client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("openai-client", flag.ContinueOnError)
	model := fs.String("model", "auto", `a model id, "provider/model", "auto" or "auto:STRATEGY"`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	prompt := strings.Join(fs.Args(), " ")
	if prompt == "" {
		prompt = "Say hello"
	}
	base, key := os.Getenv("ONEFLOW_URL"), os.Getenv("ONEFLOW_API_KEY")
	if base == "" || key == "" {
		return errors.New("set ONEFLOW_URL (e.g. http://127.0.0.1:8080) and ONEFLOW_API_KEY (e.g. $(cat data/admin.key))")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// OneFlow speaks OpenAI's API under /v1; nothing else changes.
	client := openai.NewClient(option.WithBaseURL(strings.TrimSuffix(base, "/")+"/v1/"), option.WithAPIKey(key))

	models, err := client.Models.List(ctx)
	if err != nil {
		return fmt.Errorf("list models: %w", err)
	}
	ids := make([]string, len(models.Data))
	for i, m := range models.Data {
		ids[i] = m.ID
	}
	fmt.Fprintf(out, "models: %s\n", strings.Join(ids, ", "))

	// OneFlow says who answered and what it cost in response headers.
	var raw *http.Response
	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    *model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	}, option.WithResponseInto(&raw))
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	if len(resp.Choices) == 0 {
		return errors.New("chat: an answer without choices")
	}
	fmt.Fprintf(out, "answer: %s\n", resp.Choices[0].Message.Content)
	fmt.Fprintf(out, "answered by %s/%s for %s credits\n",
		raw.Header.Get("X-OneFlow-Provider"), raw.Header.Get("X-OneFlow-Model"), raw.Header.Get("X-OneFlow-Credits"))

	// A stream carries its cost in the final usage chunk, which OpenAI
	// sends when include_usage is set; "credits" is OneFlow's addition.
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:         *model,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	fmt.Fprint(out, "streamed: ")
	var credits string
	for stream.Next() {
		chunk := stream.Current()
		if len(chunk.Choices) > 0 {
			fmt.Fprint(out, chunk.Choices[0].Delta.Content)
		}
		if f, ok := chunk.Usage.JSON.ExtraFields["credits"]; ok {
			credits = strings.Trim(f.Raw(), `"`)
		}
	}
	if err := stream.Err(); err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	fmt.Fprintf(out, "\nstream cost %s credits\n", credits)
	return nil
}
