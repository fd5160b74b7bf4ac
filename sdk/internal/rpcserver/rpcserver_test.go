package rpcserver

import (
	"context"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/oneflow-ai/oneflow/sdk/internal/tracing"
)

// TestConcurrentCallsRunOnPooledWorkers holds several calls in their
// handlers at once, as calls waiting on a vendor are, and checks that no
// handler needed a goroutine of its own: a fresh goroutine starts with a
// small stack and grows it by copying on every call.
func TestConcurrentCallsRunOnPooledWorkers(t *testing.T) {
	const calls = 16
	entered := make(chan struct{}, calls)
	release := make(chan struct{})
	srv := New([]grpc.ServerOption{grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		var in emptypb.Empty
		if err := stream.RecvMsg(&in); err != nil {
			return err
		}
		entered <- struct{}{}
		<-release
		return stream.SendMsg(&emptypb.Empty{})
	})}, tracing.Tracing{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// One call first, so the connection and its goroutines exist before
	// the count.
	close(release)
	if err := conn.Invoke(ctx, "/test.Svc/Call", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	<-entered
	release = make(chan struct{})

	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Go(func() {
			if err := conn.Invoke(ctx, "/test.Svc/Call", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
				errs <- err
			}
		})
	}
	for range calls {
		select {
		case <-entered:
		case <-ctx.Done():
			t.Fatal("the calls did not all reach their handlers")
		}
	}
	// The callers are this test's own goroutines; anything beyond them
	// is a handler that found no free worker.
	extra := runtime.NumGoroutine() - before - calls
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if extra > 0 {
		t.Errorf("%d of %d concurrent calls ran on a goroutine of their own; want all on pooled workers", extra, calls)
	}
}
