package provider

import (
	"context"
	"encoding/json"
	"time"
)

// Provider is the interface every provider plugin implements. The abilities
// a plugin offers beyond it are the optional interfaces in this package; the
// sdk advertises them to the core from the methods the value implements.
type Provider interface {
	// Describe reports the plugin's name, version and the models it knows.
	// It is called after Configure and must not call the vendor.
	Describe(ctx context.Context) (*Info, error)
	// Configure hands the plugin its settings from the core's provider
	// block. It is called once after launch (and again after every
	// restart), before any other call but Describe.
	Configure(ctx context.Context, cfg Config) error
}

// Chatter answers a chat completion in one piece.
type Chatter interface {
	Chat(ctx context.Context, req *ChatRequest) (*ChatResponse, error)
}

// ChatStreamer answers a chat completion as a stream of chunks. The last
// chunk sent must carry Usage. When ctx is cancelled the plugin stops the
// vendor call and still reports, through its return value or a final chunk,
// the usage generated so far.
type ChatStreamer interface {
	ChatStream(ctx context.Context, req *ChatRequest, send func(*ChatChunk) error) error
}

// Embedder turns text into vectors.
type Embedder interface {
	Embed(ctx context.Context, req *EmbedRequest) (*EmbedResponse, error)
}

// ImageGenerator turns a prompt into images.
type ImageGenerator interface {
	GenerateImage(ctx context.Context, req *ImageRequest) (*ImageResponse, error)
}

// Speaker turns text into audio.
type Speaker interface {
	Speech(ctx context.Context, req *SpeechRequest) (*SpeechResponse, error)
}

// TokenCounter counts the tokens a request would use, more exactly than the
// core's approximation for this vendor.
type TokenCounter interface {
	CountTokens(ctx context.Context, req *ChatRequest) (int64, error)
}

// Capability names one ability a provider offers.
type Capability string

// The capabilities the sdk derives from the optional interfaces.
const (
	CapChat        Capability = "chat"
	CapChatStream  Capability = "chat_stream"
	CapEmbed       Capability = "embed"
	CapImage       Capability = "image"
	CapSpeech      Capability = "speech"
	CapCountTokens Capability = "count_tokens"
	// CapTools: Chat and ChatStream carry ChatRequest.Tools and answer
	// with ToolCalls.
	CapTools Capability = "tools"
	// CapResponseFormat: Chat and ChatStream honour
	// ChatRequest.ResponseFormat (JSON mode, structured outputs).
	CapResponseFormat Capability = "response_format"
)

// Modality is the kind of output a model produces.
type Modality string

// The modalities OneFlow routes.
const (
	ModalityText      Modality = "text"
	ModalityEmbedding Modality = "embedding"
	ModalityImage     Modality = "image"
	ModalityAudio     Modality = "audio"
)

// Info describes a plugin to the core.
type Info struct {
	Name    string
	Version string
	// Models lists the models the plugin knows about. The core's config
	// decides which of them are offered and at what price.
	Models []Model
	// Capabilities is filled in by the sdk from the interfaces the
	// provider implements when a plugin leaves it empty. A plugin with an
	// ability no interface shows (CapTools) lists
	// append(Capabilities(p), CapTools).
	Capabilities []Capability
}

// Model is one model a provider serves.
type Model struct {
	ID            string
	Modality      Modality
	ContextWindow int64
}

// Config is the part of a provider block a plugin needs.
type Config struct {
	// APIKey is the vendor credential. Never log it or put it in an error.
	APIKey  string
	BaseURL string
	// ConnectTimeout and ReadTimeout bound each vendor call.
	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
	// Options holds vendor-specific settings from the provider block.
	Options map[string]string
}

// Role is who spoke a message.
type Role string

// The roles of a chat.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one turn of a chat.
type Message struct {
	Role Role
	// Content is the message split into parts; a plain text message has
	// one text part.
	Content []ContentPart
	Name    string
	// ToolCalls are the calls an assistant message made; ToolCallID is,
	// on a RoleTool message, the call whose result it carries.
	ToolCalls  []ToolCall
	ToolCallID string
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the function's arguments as a JSON Schema object;
	// empty means none.
	Parameters json.RawMessage
	// Strict asks the vendor to hold the arguments to Parameters exactly.
	Strict bool
}

// ToolCall is one function call a model made.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string // JSON text, as the model wrote it
}

// ToolCallDelta is a streamed piece of the Index-th tool call of an
// answer: ID and Name arrive once, Arguments in fragments to concatenate.
type ToolCallDelta struct {
	Index     int
	ID        string
	Name      string
	Arguments string
}

// Tool choices; ToolChoiceFunction forces ChatRequest.ToolChoiceName.
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceNone     = "none"
	ToolChoiceRequired = "required"
	ToolChoiceFunction = "function"
)

// Text returns the concatenated text parts of m.
func (m Message) Text() string {
	if len(m.Content) == 1 {
		return m.Content[0].Text
	}
	var n int
	for _, p := range m.Content {
		n += len(p.Text)
	}
	b := make([]byte, 0, n)
	for _, p := range m.Content {
		b = append(b, p.Text...)
	}
	return string(b)
}

// TextMessage builds a message with a single text part.
func TextMessage(role Role, text string) Message {
	return Message{Role: role, Content: []ContentPart{{Type: PartText, Text: text}}}
}

// PartType is the kind of a content part.
type PartType string

// The content part kinds.
const (
	PartText  PartType = "text"
	PartImage PartType = "image_url"
)

// ContentPart is one piece of a message.
type ContentPart struct {
	Type PartType
	Text string
	// ImageURL is a URL or a data: URL when Type is PartImage.
	ImageURL string
}

// ChatRequest is a normalized chat completion request.
type ChatRequest struct {
	Model       string
	Messages    []Message
	Temperature *float64
	TopP        *float64
	// MaxTokens is 0 when the caller gave none.
	MaxTokens int64
	// MaxCompletionTokens is true when the caller named that bound
	// max_completion_tokens; OpenAI-style adapters send it under that
	// name (OpenAI's reasoning models refuse max_tokens).
	MaxCompletionTokens bool
	Stop                []string
	// User is an opaque end-user id the vendor may use for abuse tracking.
	User string
	// Seed, PresencePenalty and FrequencyPenalty are OpenAI's sampling
	// hints, nil when the caller gave none. Adapters for vendors without
	// them (Anthropic) leave them out of the vendor request.
	Seed             *int64
	PresencePenalty  *float64
	FrequencyPenalty *float64
	// Tools the model may call. Only plugins that declare CapTools get
	// requests with tools; the core routes around the others.
	Tools []Tool
	// ToolChoice is "" (the vendor's default) or one of the ToolChoice
	// constants; ToolChoiceName names the function ToolChoiceFunction forces.
	ToolChoice     string
	ToolChoiceName string
	// ParallelToolCalls false asks for at most one tool call per answer;
	// nil leaves the vendor's default.
	ParallelToolCalls *bool
	// ResponseFormat is OpenAI's response_format object, verbatim
	// ({"type":"json_object"} or {"type":"json_schema","json_schema":...});
	// empty means text. Only plugins that declare CapResponseFormat get it.
	ResponseFormat json.RawMessage
	// OpenAI's per-request options, passed on verbatim by OpenAI-style
	// adapters; zero values mean the vendor's default. Adapters for
	// vendors without them (Anthropic) leave them out.
	ReasoningEffort  string            // "none", "minimal", "low", "medium", "high", ...
	Verbosity        string            // "low", "medium" or "high"
	LogitBias        map[string]int64  // token id (decimal) to a bias in [-100, 100]
	Metadata         map[string]string // at most 16 pairs stored with the completion
	Store            *bool             // whether the vendor keeps the completion
	SafetyIdentifier string            // a stable end-user id for abuse detection
	PromptCacheKey   string            // groups requests for the vendor's prompt cache
}

// FinishReason says why generation stopped.
type FinishReason string

// Finish reasons, in OpenAI's vocabulary.
const (
	FinishStop          FinishReason = "stop"
	FinishLength        FinishReason = "length"
	FinishContentFilter FinishReason = "content_filter"
	FinishToolCalls     FinishReason = "tool_calls"
)

// Usage is what the vendor measured for one call.
type Usage struct {
	// InputTokens is the whole prompt the vendor processed, including the
	// tokens it served from or wrote to its prompt cache.
	InputTokens int64
	// CachedInputTokens is how many of InputTokens the vendor served from
	// its prompt cache (OpenAI's prompt_tokens_details.cached_tokens,
	// Anthropic's cache_read_input_tokens); vendors bill them below the
	// input price.
	CachedInputTokens int64
	// CacheWriteTokens is how many of InputTokens the vendor wrote to its
	// prompt cache (Anthropic's cache_creation_input_tokens); some vendors
	// bill them above the input price.
	//
	// Both cache counts are parts of InputTokens, never additions to it:
	// CachedInputTokens + CacheWriteTokens <= InputTokens. A plugin that
	// leaves them zero has all of InputTokens billed at the input price.
	CacheWriteTokens int64
	OutputTokens     int64
	// Characters is set by speech providers billed per character.
	Characters int64
	// Images is set by image providers billed per image.
	Images int64
	// Estimated is true when the plugin counted the usage itself because
	// the vendor did not report it (for example a stream cut short).
	Estimated bool
}

// CacheCountsValid reports whether u's prompt-cache counts are parts of
// InputTokens, as the fields' contract says: neither negative, and
// together no more than InputTokens. The core discards counts that are
// not, and bills the whole input at the input price.
func (u Usage) CacheCountsValid() bool {
	return u.CachedInputTokens >= 0 && u.CacheWriteTokens >= 0 &&
		u.CachedInputTokens <= u.InputTokens && u.CacheWriteTokens <= u.InputTokens-u.CachedInputTokens
}

// ChatResponse is a complete chat answer.
type ChatResponse struct {
	// ID is the vendor's id for the completion, when it gives one.
	ID           string
	Model        string
	Content      string
	ToolCalls    []ToolCall
	FinishReason FinishReason
	Usage        Usage
}

// ChatChunk is one piece of a streamed chat answer. Delta is the text added
// by this chunk. The final chunk has Usage set and usually FinishReason.
type ChatChunk struct {
	ID           string
	Model        string
	Role         Role
	Delta        string
	ToolCalls    []ToolCallDelta
	FinishReason FinishReason
	Usage        *Usage
}

// EmbedRequest asks for one vector per input.
type EmbedRequest struct {
	Model      string
	Input      []string
	Dimensions int64
	User       string
}

// EmbedResponse holds one vector per input, in input order.
type EmbedResponse struct {
	Model   string
	Vectors [][]float32
	Usage   Usage
}

// ImageRequest asks for images from a prompt.
type ImageRequest struct {
	Model          string
	Prompt         string
	NegativePrompt string
	N              int64
	// Size is "WIDTHxHEIGHT" (e.g. "1024x1024"); plugins whose vendor uses
	// aspect ratios translate it.
	Size    string
	Quality string
	Style   string
	// OutputFormat is a hint such as "png", "jpeg" or "webp".
	OutputFormat string
	Seed         int64
	User         string
}

// Image is one generated image.
type Image struct {
	Data          []byte
	MIMEType      string
	URL           string
	RevisedPrompt string
	Seed          int64
}

// ImageResponse holds the generated images.
type ImageResponse struct {
	Model  string
	Images []Image
	Usage  Usage
}

// SpeechRequest asks for text to be spoken.
type SpeechRequest struct {
	Model string
	Input string
	Voice string
	// Format is the audio format wanted, e.g. "mp3".
	Format string
	Speed  *float64
}

// SpeechResponse is the spoken audio.
type SpeechResponse struct {
	Audio    []byte
	MIMEType string
	Usage    Usage
}
