package provider

import (
	"encoding/json"
	"time"

	pb "github.com/oneflow-ai/oneflow/sdk/internal/pb/providerv1"
)

// This file converts between the public Go types and the wire types, in
// both directions, so that neither plugin authors nor the core see pb.

func toPBMessages(ms []Message) []*pb.Message {
	out := make([]*pb.Message, len(ms))
	for i, m := range ms {
		parts := make([]*pb.ContentPart, len(m.Content))
		for j, p := range m.Content {
			parts[j] = &pb.ContentPart{Type: string(p.Type), Text: p.Text, ImageUrl: p.ImageURL}
		}
		out[i] = &pb.Message{Role: string(m.Role), Content: parts, Name: m.Name, ToolCalls: toPBToolCalls(m.ToolCalls), ToolCallId: m.ToolCallID}
	}
	return out
}

func fromPBMessages(ms []*pb.Message) []Message {
	out := make([]Message, len(ms))
	for i, m := range ms {
		parts := make([]ContentPart, len(m.GetContent()))
		for j, p := range m.GetContent() {
			parts[j] = ContentPart{Type: PartType(p.GetType()), Text: p.GetText(), ImageURL: p.GetImageUrl()}
		}
		out[i] = Message{Role: Role(m.GetRole()), Content: parts, Name: m.GetName(), ToolCalls: fromPBToolCalls(m.GetToolCalls()), ToolCallID: m.GetToolCallId()}
	}
	return out
}

func toPBToolCalls(cs []ToolCall) []*pb.ToolCall {
	if len(cs) == 0 {
		return nil
	}
	out := make([]*pb.ToolCall, len(cs))
	for i, c := range cs {
		out[i] = &pb.ToolCall{Id: c.ID, Name: c.Name, Arguments: c.Arguments}
	}
	return out
}

func fromPBToolCalls(cs []*pb.ToolCall) []ToolCall {
	if len(cs) == 0 {
		return nil
	}
	out := make([]ToolCall, len(cs))
	for i, c := range cs {
		out[i] = ToolCall{ID: c.GetId(), Name: c.GetName(), Arguments: c.GetArguments()}
	}
	return out
}

func toPBTools(ts []Tool) []*pb.Tool {
	if len(ts) == 0 {
		return nil
	}
	out := make([]*pb.Tool, len(ts))
	for i, t := range ts {
		out[i] = &pb.Tool{Name: t.Name, Description: t.Description, ParametersJson: string(t.Parameters), Strict: t.Strict}
	}
	return out
}

func fromPBTools(ts []*pb.Tool) []Tool {
	if len(ts) == 0 {
		return nil
	}
	out := make([]Tool, len(ts))
	for i, t := range ts {
		out[i] = Tool{Name: t.GetName(), Description: t.GetDescription(), Strict: t.GetStrict()}
		if p := t.GetParametersJson(); p != "" {
			out[i].Parameters = []byte(p)
		}
	}
	return out
}

func toPBChatRequest(r *ChatRequest) *pb.ChatRequest {
	return &pb.ChatRequest{
		Model:               r.Model,
		Messages:            toPBMessages(r.Messages),
		Temperature:         r.Temperature,
		TopP:                r.TopP,
		MaxTokens:           r.MaxTokens,
		Stop:                r.Stop,
		User:                r.User,
		Seed:                r.Seed,
		PresencePenalty:     r.PresencePenalty,
		FrequencyPenalty:    r.FrequencyPenalty,
		Tools:               toPBTools(r.Tools),
		ToolChoice:          r.ToolChoice,
		ToolChoiceName:      r.ToolChoiceName,
		ResponseFormatJson:  string(r.ResponseFormat),
		ParallelToolCalls:   r.ParallelToolCalls,
		MaxCompletionTokens: r.MaxCompletionTokens,
		ReasoningEffort:     r.ReasoningEffort,
		Verbosity:           r.Verbosity,
		LogitBias:           r.LogitBias,
		Metadata:            r.Metadata,
		Store:               r.Store,
		SafetyIdentifier:    r.SafetyIdentifier,
		PromptCacheKey:      r.PromptCacheKey,
	}
}

func fromPBChatRequest(r *pb.ChatRequest) *ChatRequest {
	return &ChatRequest{
		Model:               r.GetModel(),
		Messages:            fromPBMessages(r.GetMessages()),
		Temperature:         r.Temperature,
		TopP:                r.TopP,
		MaxTokens:           r.GetMaxTokens(),
		Stop:                r.GetStop(),
		User:                r.GetUser(),
		Seed:                r.Seed,
		PresencePenalty:     r.PresencePenalty,
		FrequencyPenalty:    r.FrequencyPenalty,
		Tools:               fromPBTools(r.GetTools()),
		ToolChoice:          r.GetToolChoice(),
		ToolChoiceName:      r.GetToolChoiceName(),
		ResponseFormat:      rawJSON(r.GetResponseFormatJson()),
		ParallelToolCalls:   r.ParallelToolCalls,
		MaxCompletionTokens: r.GetMaxCompletionTokens(),
		ReasoningEffort:     r.GetReasoningEffort(),
		Verbosity:           r.GetVerbosity(),
		LogitBias:           r.GetLogitBias(),
		Metadata:            r.GetMetadata(),
		Store:               r.Store,
		SafetyIdentifier:    r.GetSafetyIdentifier(),
		PromptCacheKey:      r.GetPromptCacheKey(),
	}
}

// rawJSON is s as JSON, nil when empty.
func rawJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func toPBUsage(u Usage) *pb.Usage {
	return &pb.Usage{
		InputTokens:       u.InputTokens,
		CachedInputTokens: u.CachedInputTokens,
		CacheWriteTokens:  u.CacheWriteTokens,
		OutputTokens:      u.OutputTokens,
		Characters:        u.Characters,
		Images:            u.Images,
		Estimated:         u.Estimated,
	}
}

func fromPBUsage(u *pb.Usage) Usage {
	return Usage{
		InputTokens:       u.GetInputTokens(),
		CachedInputTokens: u.GetCachedInputTokens(),
		CacheWriteTokens:  u.GetCacheWriteTokens(),
		OutputTokens:      u.GetOutputTokens(),
		Characters:        u.GetCharacters(),
		Images:            u.GetImages(),
		Estimated:         u.GetEstimated(),
	}
}

func toPBChatResponse(r *ChatResponse) *pb.ChatResponse {
	return &pb.ChatResponse{
		Id:           r.ID,
		Model:        r.Model,
		Content:      r.Content,
		FinishReason: string(r.FinishReason),
		Usage:        toPBUsage(r.Usage),
		ToolCalls:    toPBToolCalls(r.ToolCalls),
	}
}

func fromPBChatResponse(r *pb.ChatResponse) *ChatResponse {
	return &ChatResponse{
		ID:           r.GetId(),
		Model:        r.GetModel(),
		Content:      r.GetContent(),
		FinishReason: FinishReason(r.GetFinishReason()),
		Usage:        fromPBUsage(r.GetUsage()),
		ToolCalls:    fromPBToolCalls(r.GetToolCalls()),
	}
}

func toPBChunk(c *ChatChunk) *pb.ChatChunk {
	out := &pb.ChatChunk{
		Id:           c.ID,
		Model:        c.Model,
		Role:         string(c.Role),
		Delta:        c.Delta,
		FinishReason: string(c.FinishReason),
	}
	if c.Usage != nil {
		out.Usage = toPBUsage(*c.Usage)
	}
	for _, d := range c.ToolCalls {
		out.ToolCalls = append(out.ToolCalls, &pb.ToolCallDelta{Index: int32(d.Index), Id: d.ID, Name: d.Name, Arguments: d.Arguments})
	}
	return out
}

func fromPBChunk(c *pb.ChatChunk) *ChatChunk {
	out := &ChatChunk{
		ID:           c.GetId(),
		Model:        c.GetModel(),
		Role:         Role(c.GetRole()),
		Delta:        c.GetDelta(),
		FinishReason: FinishReason(c.GetFinishReason()),
	}
	if c.Usage != nil {
		u := fromPBUsage(c.Usage)
		out.Usage = &u
	}
	for _, d := range c.GetToolCalls() {
		out.ToolCalls = append(out.ToolCalls, ToolCallDelta{Index: int(d.GetIndex()), ID: d.GetId(), Name: d.GetName(), Arguments: d.GetArguments()})
	}
	return out
}

func toPBEmbedResponse(r *EmbedResponse) *pb.EmbedResponse {
	vs := make([]*pb.Vector, len(r.Vectors))
	for i, v := range r.Vectors {
		vs[i] = &pb.Vector{Values: v}
	}
	return &pb.EmbedResponse{Model: r.Model, Vectors: vs, Usage: toPBUsage(r.Usage)}
}

func fromPBEmbedResponse(r *pb.EmbedResponse) *EmbedResponse {
	vs := make([][]float32, len(r.GetVectors()))
	for i, v := range r.GetVectors() {
		vs[i] = v.GetValues()
	}
	return &EmbedResponse{Model: r.GetModel(), Vectors: vs, Usage: fromPBUsage(r.GetUsage())}
}

func toPBImageRequest(r *ImageRequest) *pb.ImageRequest {
	return &pb.ImageRequest{
		Model: r.Model, Prompt: r.Prompt, NegativePrompt: r.NegativePrompt, N: r.N,
		Size: r.Size, Quality: r.Quality, Style: r.Style, OutputFormat: r.OutputFormat,
		Seed: r.Seed, User: r.User,
	}
}

func fromPBImageRequest(r *pb.ImageRequest) *ImageRequest {
	return &ImageRequest{
		Model: r.GetModel(), Prompt: r.GetPrompt(), NegativePrompt: r.GetNegativePrompt(), N: r.GetN(),
		Size: r.GetSize(), Quality: r.GetQuality(), Style: r.GetStyle(), OutputFormat: r.GetOutputFormat(),
		Seed: r.GetSeed(), User: r.GetUser(),
	}
}

func toPBImageResponse(r *ImageResponse) *pb.ImageResponse {
	imgs := make([]*pb.Image, len(r.Images))
	for i, im := range r.Images {
		imgs[i] = &pb.Image{Data: im.Data, MimeType: im.MIMEType, Url: im.URL, RevisedPrompt: im.RevisedPrompt, Seed: im.Seed}
	}
	return &pb.ImageResponse{Model: r.Model, Images: imgs, Usage: toPBUsage(r.Usage)}
}

func fromPBImageResponse(r *pb.ImageResponse) *ImageResponse {
	imgs := make([]Image, len(r.GetImages()))
	for i, im := range r.GetImages() {
		imgs[i] = Image{Data: im.GetData(), MIMEType: im.GetMimeType(), URL: im.GetUrl(), RevisedPrompt: im.GetRevisedPrompt(), Seed: im.GetSeed()}
	}
	return &ImageResponse{Model: r.GetModel(), Images: imgs, Usage: fromPBUsage(r.GetUsage())}
}

func toPBConfig(c Config) *pb.ConfigureRequest {
	return &pb.ConfigureRequest{
		ApiKey:           c.APIKey,
		BaseUrl:          c.BaseURL,
		ConnectTimeoutMs: c.ConnectTimeout.Milliseconds(),
		ReadTimeoutMs:    c.ReadTimeout.Milliseconds(),
		Options:          c.Options,
	}
}

func fromPBConfig(c *pb.ConfigureRequest) Config {
	return Config{
		APIKey:         c.GetApiKey(),
		BaseURL:        c.GetBaseUrl(),
		ConnectTimeout: time.Duration(c.GetConnectTimeoutMs()) * time.Millisecond,
		ReadTimeout:    time.Duration(c.GetReadTimeoutMs()) * time.Millisecond,
		Options:        c.GetOptions(),
	}
}

func toPBInfo(in *Info, protocol int32) *pb.DescribeResponse {
	models := make([]*pb.Model, len(in.Models))
	for i, m := range in.Models {
		models[i] = &pb.Model{Id: m.ID, Modality: string(m.Modality), ContextWindow: m.ContextWindow}
	}
	caps := make([]string, len(in.Capabilities))
	for i, c := range in.Capabilities {
		caps[i] = string(c)
	}
	return &pb.DescribeResponse{Name: in.Name, Version: in.Version, Models: models, Capabilities: caps, ProtocolVersion: protocol}
}

func fromPBInfo(r *pb.DescribeResponse) *Info {
	models := make([]Model, len(r.GetModels()))
	for i, m := range r.GetModels() {
		models[i] = Model{ID: m.GetId(), Modality: Modality(m.GetModality()), ContextWindow: m.GetContextWindow()}
	}
	caps := make([]Capability, len(r.GetCapabilities()))
	for i, c := range r.GetCapabilities() {
		caps[i] = Capability(c)
	}
	return &Info{Name: r.GetName(), Version: r.GetVersion(), Models: models, Capabilities: caps}
}
