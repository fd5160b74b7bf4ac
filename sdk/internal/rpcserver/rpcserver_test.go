package rpcserver

import (
	"bytes"
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
// handlers at once, as calls waiting on a vendor are, and checks that the
// handlers ran on gRPC's pooled stream workers: a fresh goroutine starts
// with a small stack and grows it by copying on every call. Each handler
// looks at its own stack for the worker loop. A worker that has not yet
// gone back to waiting for work when a call arrives is a legitimate
// fallback to a fresh goroutine, so a few are tolerated; without the pool
// every call runs on a fresh one.
func TestConcurrentCallsRunOnPooledWorkers(t *testing.T) {
	const calls = 16
	entered := make(chan bool, calls)
	release := make(chan struct{})
	srv := New([]grpc.ServerOption{grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		var in emptypb.Empty
		if err := stream.RecvMsg(&in); err != nil {
			return err
		}
		buf := make([]byte, 64<<10)
		entered <- bytes.Contains(buf[:runtime.Stack(buf, false)], []byte(").serverWorker("))
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

	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Go(func() {
			if err := conn.Invoke(ctx, "/test.Svc/Call", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
				errs <- err
			}
		})
	}
	pooled := 0
	for range calls {
		select {
		case p := <-entered:
			if p {
				pooled++
			}
		case <-ctx.Done():
			t.Fatal("the calls did not all reach their handlers")
		}
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if pooled < calls*3/4 {
		t.Errorf("%d of %d concurrent calls ran on a pooled worker; want at least %d", pooled, calls, calls*3/4)
	}
}
