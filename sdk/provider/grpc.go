package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/oneflow-ai/oneflow/sdk/internal/handshake"
	pb "github.com/oneflow-ai/oneflow/sdk/internal/pb/providerv1"
)

// Client is a provider as the host sees it across the process boundary:
// every ability is a method, and one the plugin lacks fails with
// KindUnsupported. Errors are always *Error (or nil).
type Client interface {
	Provider
	Chatter
	ChatStreamer
	Embedder
	ImageGenerator
	Speaker
	TokenCounter
}

// GRPCPlugin is the go-plugin glue for providers. Plugin authors never use
// it; Serve and the host do.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is set on the plugin side only.
	Impl   Provider
	Logger hclog.Logger
}

// GRPCServer registers the provider service on the plugin's gRPC server.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	log := p.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	pb.RegisterProviderServer(s, &grpcServer{impl: p.Impl, log: log})
	return nil
}

// GRPCClient returns a Client speaking to the plugin over conn.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return NewClient(conn), nil
}

// NewClient returns a Client over an established connection to a plugin.
func NewClient(conn grpc.ClientConnInterface) Client {
	return &grpcClient{c: pb.NewProviderClient(conn)}
}

// Capabilities lists the abilities p offers, from the interfaces it implements.
func Capabilities(p Provider) []Capability {
	var caps []Capability
	if _, ok := p.(Chatter); ok {
		caps = append(caps, CapChat)
	}
	if _, ok := p.(ChatStreamer); ok {
		caps = append(caps, CapChatStream)
	}
	if _, ok := p.(Embedder); ok {
		caps = append(caps, CapEmbed)
	}
	if _, ok := p.(ImageGenerator); ok {
		caps = append(caps, CapImage)
	}
	if _, ok := p.(Speaker); ok {
		caps = append(caps, CapSpeech)
	}
	if _, ok := p.(TokenCounter); ok {
		caps = append(caps, CapCountTokens)
	}
	return caps
}

// ---------------------------------------------------------------- errors

// toStatus turns any error from a plugin implementation into a gRPC status
// carrying an ErrorDetail, so the kind survives the process boundary.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	var pe *Error
	if !errors.As(err, &pe) {
		pe = &Error{Kind: KindOf(err), Message: err.Error()}
	}
	d := &pb.ErrorDetail{
		Kind:         pb.ErrorKind(pe.Kind),
		Message:      pe.Message,
		RetryAfterMs: pe.RetryAfter.Milliseconds(),
		VendorStatus: int32(pe.Status),
	}
	if pe.Partial != nil {
		d.Partial = toPBUsage(*pe.Partial)
	}
	st, derr := status.New(grpcCode(pe.Kind), pe.Message).WithDetails(d)
	if derr != nil {
		return status.Error(grpcCode(pe.Kind), pe.Message)
	}
	return st.Err()
}

func grpcCode(k Kind) codes.Code {
	switch k {
	case KindInvalidRequest:
		return codes.InvalidArgument
	case KindAuth:
		return codes.PermissionDenied
	case KindRateLimited:
		return codes.ResourceExhausted
	case KindUnavailable:
		return codes.Unavailable
	case KindTimeout:
		return codes.DeadlineExceeded
	case KindUnsupported:
		return codes.Unimplemented
	case KindUnconfigured:
		return codes.FailedPrecondition
	case KindCanceled:
		return codes.Canceled
	}
	return codes.Unknown
}

// fromStatus turns an error from a gRPC call back into an *Error. Errors
// without an ErrorDetail come from the transport itself: the plugin process
// died, the connection broke, or the call's context ended.
func fromStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return &Error{Kind: KindOf(err), Message: err.Error()}
	}
	for _, d := range st.Details() {
		if ed, ok := d.(*pb.ErrorDetail); ok {
			pe := &Error{
				Kind:       Kind(ed.GetKind()),
				Message:    ed.GetMessage(),
				RetryAfter: time.Duration(ed.GetRetryAfterMs()) * time.Millisecond,
				Status:     int(ed.GetVendorStatus()),
			}
			if ed.Partial != nil {
				u := fromPBUsage(ed.Partial)
				pe.Partial = &u
			}
			return pe
		}
	}
	switch st.Code() {
	case codes.Canceled:
		if ctx.Err() != nil {
			return &Error{Kind: KindCanceled, Message: "call canceled"}
		}
		return &Error{Kind: KindUnavailable, Message: "plugin connection closed: " + st.Message(), link: true}
	case codes.DeadlineExceeded:
		return &Error{Kind: KindTimeout, Message: "plugin call deadline exceeded"}
	case codes.Unimplemented:
		return &Error{Kind: KindUnsupported, Message: st.Message()}
	case codes.Unavailable:
		return &Error{Kind: KindUnavailable, Message: "plugin unavailable: " + st.Message(), link: true}
	}
	return &Error{Kind: KindUnavailable, Message: "plugin call failed: " + st.Message(), link: true}
}

// ---------------------------------------------------------------- server

type grpcServer struct {
	pb.UnimplementedProviderServer
	impl Provider
	log  hclog.Logger
}

// recoverTo turns a panic in plugin code into an error so one bad request
// does not kill the plugin and every call in flight on it. The panic value
// is logged with its stack but not returned: it may hold request data.
func (s *grpcServer) recoverTo(method string, err *error) {
	if r := recover(); r != nil {
		s.log.Error("plugin panicked", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = toStatus(&Error{Kind: KindUnavailable, Message: method + ": plugin panicked"})
	}
}

func unsupported(what string) error {
	return toStatus(&Error{Kind: KindUnsupported, Message: "provider does not support " + what})
}

func (s *grpcServer) Describe(ctx context.Context, _ *pb.DescribeRequest) (_ *pb.DescribeResponse, err error) {
	defer s.recoverTo("Describe", &err)
	info, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	if len(info.Capabilities) == 0 {
		cp := *info
		cp.Capabilities = Capabilities(s.impl)
		info = &cp
	}
	return toPBInfo(info, handshake.ProtocolVersion), nil
}

func (s *grpcServer) Configure(ctx context.Context, r *pb.ConfigureRequest) (_ *pb.ConfigureResponse, err error) {
	defer s.recoverTo("Configure", &err)
	if err := s.impl.Configure(ctx, fromPBConfig(r)); err != nil {
		return nil, toStatus(err)
	}
	return &pb.ConfigureResponse{}, nil
}

func (s *grpcServer) Chat(ctx context.Context, r *pb.ChatRequest) (_ *pb.ChatResponse, err error) {
	defer s.recoverTo("Chat", &err)
	c, ok := s.impl.(Chatter)
	if !ok {
		return nil, unsupported("chat")
	}
	resp, err := c.Chat(ctx, fromPBChatRequest(r))
	if err != nil {
		return nil, toStatus(err)
	}
	return toPBChatResponse(resp), nil
}

func (s *grpcServer) ChatStream(r *pb.ChatRequest, stream grpc.ServerStreamingServer[pb.ChatChunk]) (err error) {
	defer s.recoverTo("ChatStream", &err)
	c, ok := s.impl.(ChatStreamer)
	if !ok {
		return unsupported("streaming chat")
	}
	err = c.ChatStream(stream.Context(), fromPBChatRequest(r), func(ch *ChatChunk) error {
		return stream.Send(toPBChunk(ch))
	})
	return toStatus(err)
}

func (s *grpcServer) Embed(ctx context.Context, r *pb.EmbedRequest) (_ *pb.EmbedResponse, err error) {
	defer s.recoverTo("Embed", &err)
	e, ok := s.impl.(Embedder)
	if !ok {
		return nil, unsupported("embeddings")
	}
	resp, err := e.Embed(ctx, &EmbedRequest{Model: r.GetModel(), Input: r.GetInput(), Dimensions: r.GetDimensions(), User: r.GetUser()})
	if err != nil {
		return nil, toStatus(err)
	}
	return toPBEmbedResponse(resp), nil
}

func (s *grpcServer) GenerateImage(ctx context.Context, r *pb.ImageRequest) (_ *pb.ImageResponse, err error) {
	defer s.recoverTo("GenerateImage", &err)
	g, ok := s.impl.(ImageGenerator)
	if !ok {
		return nil, unsupported("image generation")
	}
	resp, err := g.GenerateImage(ctx, fromPBImageRequest(r))
	if err != nil {
		return nil, toStatus(err)
	}
	return toPBImageResponse(resp), nil
}

func (s *grpcServer) Speech(ctx context.Context, r *pb.SpeechRequest) (_ *pb.SpeechResponse, err error) {
	defer s.recoverTo("Speech", &err)
	sp, ok := s.impl.(Speaker)
	if !ok {
		return nil, unsupported("speech")
	}
	resp, err := sp.Speech(ctx, &SpeechRequest{Model: r.GetModel(), Input: r.GetInput(), Voice: r.GetVoice(), Format: r.GetFormat(), Speed: r.Speed})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.SpeechResponse{Audio: resp.Audio, MimeType: resp.MIMEType, Usage: toPBUsage(resp.Usage)}, nil
}

func (s *grpcServer) CountTokens(ctx context.Context, r *pb.ChatRequest) (_ *pb.CountTokensResponse, err error) {
	defer s.recoverTo("CountTokens", &err)
	tc, ok := s.impl.(TokenCounter)
	if !ok {
		return nil, unsupported("token counting")
	}
	n, err := tc.CountTokens(ctx, fromPBChatRequest(r))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.CountTokensResponse{Tokens: n}, nil
}

// ---------------------------------------------------------------- client

type grpcClient struct {
	c pb.ProviderClient
}

func (c *grpcClient) Describe(ctx context.Context) (*Info, error) {
	r, err := c.c.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return fromPBInfo(r), nil
}

func (c *grpcClient) Configure(ctx context.Context, cfg Config) error {
	_, err := c.c.Configure(ctx, toPBConfig(cfg))
	return fromStatus(ctx, err)
}

func (c *grpcClient) Chat(ctx context.Context, req *ChatRequest) (*ChatResponse, error) {
	r, err := c.c.Chat(ctx, toPBChatRequest(req))
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return fromPBChatResponse(r), nil
}

// ChatStream relays chunks to send as they arrive. If send fails (the
// client went away) the stream is cancelled and send's error returned.
func (c *grpcClient) ChatStream(ctx context.Context, req *ChatRequest, send func(*ChatChunk) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.c.ChatStream(ctx, toPBChatRequest(req))
	if err != nil {
		return fromStatus(ctx, err)
	}
	for {
		ch, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fromStatus(ctx, err)
		}
		if err := send(fromPBChunk(ch)); err != nil {
			return err
		}
	}
}

func (c *grpcClient) Embed(ctx context.Context, req *EmbedRequest) (*EmbedResponse, error) {
	r, err := c.c.Embed(ctx, &pb.EmbedRequest{Model: req.Model, Input: req.Input, Dimensions: req.Dimensions, User: req.User})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return fromPBEmbedResponse(r), nil
}

func (c *grpcClient) GenerateImage(ctx context.Context, req *ImageRequest) (*ImageResponse, error) {
	r, err := c.c.GenerateImage(ctx, toPBImageRequest(req))
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return fromPBImageResponse(r), nil
}

func (c *grpcClient) Speech(ctx context.Context, req *SpeechRequest) (*SpeechResponse, error) {
	r, err := c.c.Speech(ctx, &pb.SpeechRequest{Model: req.Model, Input: req.Input, Voice: req.Voice, Format: req.Format, Speed: req.Speed})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return &SpeechResponse{Audio: r.GetAudio(), MIMEType: r.GetMimeType(), Usage: fromPBUsage(r.GetUsage())}, nil
}

func (c *grpcClient) CountTokens(ctx context.Context, req *ChatRequest) (int64, error) {
	r, err := c.c.CountTokens(ctx, toPBChatRequest(req))
	if err != nil {
		return 0, fromStatus(ctx, err)
	}
	return r.GetTokens(), nil
}
