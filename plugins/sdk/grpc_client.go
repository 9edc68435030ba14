package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/status"

	"github.com/flexauth/flexauth/plugins/proto"
)

// exitGrace bounds how long a failed call waits to learn whether the plugin
// process died. A broken connection is usually noticed a few milliseconds
// before go-plugin has reaped the process; without waiting, a crash would be
// reported as an anonymous transport error instead of ErrPluginExited.
const exitGrace = 2 * time.Second

// gRPCClient runs in the host and implements Delivery by calling the plugin
// process.
type gRPCClient struct {
	client proto.DeliveryClient
	// doneCtx is cancelled by go-plugin when the plugin process exits.
	doneCtx context.Context
}

var _ Delivery = (*gRPCClient)(nil)

func (c *gRPCClient) Configure(ctx context.Context, config map[string]string) error {
	err := c.call(ctx, func(ctx context.Context) error {
		_, err := c.client.Configure(ctx, &proto.ConfigureRequest{Config: config})
		return err
	})
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	return nil
}

func (c *gRPCClient) Send(ctx context.Context, req SendRequest) (SendResponse, error) {
	var resp *proto.SendResponse
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		resp, err = c.client.Send(ctx, &proto.SendRequest{
			Id:       req.ID,
			Channel:  req.Channel,
			To:       req.To,
			Subject:  req.Subject,
			Text:     req.Text,
			Html:     req.HTML,
			Link:     req.Link,
			Code:     req.Code,
			Attempt:  req.Attempt,
			Metadata: req.Metadata,
		})
		return err
	})
	if err != nil {
		return SendResponse{}, fmt.Errorf("send: %w", err)
	}
	return SendResponse{MessageID: resp.GetMessageId()}, nil
}

func (c *gRPCClient) Info(ctx context.Context) (Info, error) {
	var resp *proto.InfoResponse
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		resp, err = c.client.Info(ctx, &proto.InfoRequest{})
		return err
	})
	if err != nil {
		return Info{}, fmt.Errorf("info: %w", err)
	}
	return Info{Name: resp.GetName(), Version: resp.GetVersion(), Channels: resp.GetChannels()}, nil
}

// call runs one RPC and translates its error into the SDK's error contract:
// ErrPermanent, ErrPluginExited, the caller's context error, or a temporary
// error.
func (c *gRPCClient) call(ctx context.Context, rpc func(context.Context) error) error {
	if c.doneCtx.Err() != nil {
		return ErrPluginExited
	}
	// Abort the call as soon as the process is gone rather than waiting
	// for the caller's deadline.
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.doneCtx, cancel)
	defer stop()

	err := rpc(callCtx)
	if err == nil {
		return nil
	}
	st := status.Convert(err)
	switch {
	case isPermanentCode(st.Code()):
		return fmt.Errorf("%w: %s", ErrPermanent, st.Message())
	case ctx.Err() != nil:
		return ctx.Err()
	case fromPlugin(st):
		return errors.New(st.Message())
	case c.exited(ctx):
		return ErrPluginExited
	default:
		return fmt.Errorf("call plugin: %w", err)
	}
}

// exited waits up to exitGrace for the plugin process to be reported gone.
func (c *gRPCClient) exited(ctx context.Context) bool {
	t := time.NewTimer(exitGrace)
	defer t.Stop()
	select {
	case <-c.doneCtx.Done():
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return c.doneCtx.Err() != nil
}
