package sdk_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flexauth/flexauth/plugins/internal/grpcclient"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// countingMailer counts the sends that reach it; every send is held until
// release is closed.
type countingMailer struct {
	mailer
	calls   atomic.Int64
	arrived chan struct{}
	release chan struct{}
}

func newCountingMailer() *countingMailer {
	return &countingMailer{arrived: make(chan struct{}, 100), release: make(chan struct{})}
}

func (m *countingMailer) Send(ctx context.Context, req sdk.SendRequest) (sdk.SendResponse, error) {
	n := m.calls.Add(1)
	m.arrived <- struct{}{}
	select {
	case <-m.release:
	case <-ctx.Done():
		return sdk.SendResponse{}, ctx.Err()
	}
	return sdk.SendResponse{MessageID: fmt.Sprintf("%s#%d", req.ID, n)}, nil
}

// TestServedDeliverySendsEachIDOnce proves the ledger is applied by the
// server a plugin process runs, without any code in the plugin.
func TestServedDeliverySendsEachIDOnce(t *testing.T) {
	impl := newCountingMailer()
	d, err := grpcclient.DispenseDelivery(connect(t, sdk.DeliveryPlugins(impl)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	t.Run("concurrent sends of one id reach the plugin once", func(t *testing.T) {
		const n = 6
		resps := make([]sdk.SendResponse, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { resps[i], errs[i] = d.Send(ctx, sdk.SendRequest{ID: "att-race", Channel: "email"}) })
		}
		<-impl.arrived
		close(impl.release)
		wg.Wait()
		for i := range n {
			if errs[i] != nil || resps[i].MessageID != "att-race#1" {
				t.Errorf("send %d = %+v, %v; want the first send's response", i, resps[i], errs[i])
			}
		}
		if calls := impl.calls.Load(); calls != 1 {
			t.Fatalf("the plugin got %d sends, want 1", calls)
		}
	})
	t.Run("a retry gets the first response without reaching the plugin", func(t *testing.T) {
		resp, err := d.Send(ctx, sdk.SendRequest{ID: "att-race", Channel: "email"})
		if err != nil || resp.MessageID != "att-race#1" {
			t.Fatalf("retry = %+v, %v; want att-race#1", resp, err)
		}
		if calls := impl.calls.Load(); calls != 1 {
			t.Fatalf("the plugin got %d sends, want 1", calls)
		}
	})
	t.Run("another id is sent", func(t *testing.T) {
		resp, err := d.Send(ctx, sdk.SendRequest{ID: "att-2", Channel: "email"})
		if err != nil || resp.MessageID != "att-2#2" {
			t.Fatalf("send = %+v, %v; want att-2#2", resp, err)
		}
	})
}
