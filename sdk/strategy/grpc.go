package strategy

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/oneflow-ai/oneflow/sdk/internal/handshake"
	pb "github.com/oneflow-ai/oneflow/sdk/internal/pb/strategyv1"
)

// GRPCPlugin is the go-plugin glue for strategies. Plugin authors never
// use it; Serve and the host do.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl   Strategy
	Logger hclog.Logger
}

// GRPCServer registers the strategy service on the plugin's gRPC server.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	log := p.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	pb.RegisterStrategyServer(s, &grpcServer{impl: p.Impl, log: log})
	return nil
}

// GRPCClient returns a Strategy speaking to the plugin over conn.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return NewClient(conn), nil
}

// NewClient returns a Strategy backed by a plugin connection.
func NewClient(conn grpc.ClientConnInterface) Strategy {
	return &grpcClient{c: pb.NewStrategyClient(conn)}
}

type grpcServer struct {
	pb.UnimplementedStrategyServer
	impl Strategy
	log  hclog.Logger
}

func (s *grpcServer) recoverTo(method string, err *error) {
	if r := recover(); r != nil {
		s.log.Error("plugin panicked", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = status.Error(codes.Internal, method+": plugin panicked")
	}
}

func (s *grpcServer) Describe(ctx context.Context, _ *pb.DescribeRequest) (_ *pb.DescribeResponse, err error) {
	defer s.recoverTo("Describe", &err)
	in, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, status.Error(codes.Unknown, err.Error())
	}
	return &pb.DescribeResponse{Name: in.Name, Version: in.Version, PerRequest: in.PerRequest, ProtocolVersion: handshake.ProtocolVersion}, nil
}

func (s *grpcServer) Route(ctx context.Context, r *pb.RouteRequest) (_ *pb.RouteResponse, err error) {
	defer s.recoverTo("Route", &err)
	d, err := s.impl.Route(ctx, fromPBRequest(r))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	out := &pb.RouteResponse{Reason: d.Reason, Choices: make([]*pb.Choice, len(d.Choices))}
	for i, c := range d.Choices {
		out.Choices[i] = &pb.Choice{Provider: c.Provider, Model: c.Model, Score: c.Score}
	}
	return out, nil
}

type grpcClient struct {
	c pb.StrategyClient
}

func (c *grpcClient) Describe(ctx context.Context) (*Info, error) {
	r, err := c.c.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return nil, fmt.Errorf("describe strategy: %w", err)
	}
	return &Info{Name: r.GetName(), Version: r.GetVersion(), PerRequest: r.GetPerRequest()}, nil
}

func (c *grpcClient) Route(ctx context.Context, req *Request) (*Decision, error) {
	r, err := c.c.Route(ctx, toPBRequest(req))
	if err != nil {
		return nil, fmt.Errorf("route: %w", err)
	}
	d := &Decision{Reason: r.GetReason(), Choices: make([]Choice, len(r.GetChoices()))}
	for i, ch := range r.GetChoices() {
		d.Choices[i] = Choice{Provider: ch.GetProvider(), Model: ch.GetModel(), Score: ch.GetScore()}
	}
	return d, nil
}

func toPBRequest(r *Request) *pb.RouteRequest {
	f := r.Features
	out := &pb.RouteRequest{
		Features: &pb.Features{
			Modality: f.Modality, InputTokens: f.InputTokens, OutputTokens: f.OutputTokens,
			ContextTokens: f.ContextTokens, Streaming: f.Streaming, Capabilities: f.Capabilities, Params: f.Params,
		},
		Candidates: make([]*pb.Candidate, len(r.Candidates)),
	}
	for i, c := range r.Candidates {
		out.Candidates[i] = &pb.Candidate{
			Provider: c.Provider, Model: c.Model, Modality: c.Modality,
			InputMicroUsdPerMtok: c.InputMicroUSDPerMTok, OutputMicroUsdPerMtok: c.OutputMicroUSDPerMTok,
			UnitMicroUsd: c.UnitMicroUSD, EstimatedMicroUsd: c.EstimatedMicroUSD, Quality: c.Quality,
			ContextWindow: c.ContextWindow, Capabilities: c.Capabilities,
			LatencyEwmaMs: c.LatencyEWMAMillis, LatencyP95Ms: c.LatencyP95Millis, HasLatency: c.HasLatency,
			ErrorRate: c.ErrorRate, Breaker: pb.BreakerState(c.Breaker),
		}
	}
	return out
}

func fromPBRequest(r *pb.RouteRequest) *Request {
	f := r.GetFeatures()
	out := &Request{
		Features: Features{
			Modality: f.GetModality(), InputTokens: f.GetInputTokens(), OutputTokens: f.GetOutputTokens(),
			ContextTokens: f.GetContextTokens(), Streaming: f.GetStreaming(), Capabilities: f.GetCapabilities(), Params: f.GetParams(),
		},
		Candidates: make([]Candidate, len(r.GetCandidates())),
	}
	for i, c := range r.GetCandidates() {
		out.Candidates[i] = Candidate{
			Provider: c.GetProvider(), Model: c.GetModel(), Modality: c.GetModality(),
			InputMicroUSDPerMTok: c.GetInputMicroUsdPerMtok(), OutputMicroUSDPerMTok: c.GetOutputMicroUsdPerMtok(),
			UnitMicroUSD: c.GetUnitMicroUsd(), EstimatedMicroUSD: c.GetEstimatedMicroUsd(), Quality: c.GetQuality(),
			ContextWindow: c.GetContextWindow(), Capabilities: c.GetCapabilities(),
			LatencyEWMAMillis: c.GetLatencyEwmaMs(), LatencyP95Millis: c.GetLatencyP95Ms(), HasLatency: c.GetHasLatency(),
			ErrorRate: c.GetErrorRate(), Breaker: BreakerState(c.GetBreaker()),
		}
	}
	return out
}
