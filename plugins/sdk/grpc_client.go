package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
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
	caller
}

var _ Delivery = (*gRPCClient)(nil)

func (c *gRPCClient) Configure(ctx context.Context, req ConfigureRequest) error {
	return c.configure(ctx, func(ctx context.Context, req *proto.ConfigureRequest) error {
		_, err := c.client.Configure(ctx, req)
		return err
	}, req)
}

func (c *gRPCClient) Send(ctx context.Context, req SendRequest) (SendResponse, error) {
	var resp *proto.SendResponse
	err := c.call(ctx, "Send", func(ctx context.Context) error {
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
	return c.info(ctx, func(ctx context.Context) (*proto.InfoResponse, error) {
		return c.client.Info(ctx, &proto.InfoRequest{})
	})
}

// identityClient runs in the host and implements IdentityProvider by
// calling the plugin process.
type identityClient struct {
	client proto.IdentityClient
	caller
}

var (
	_ IdentityProvider = (*identityClient)(nil)
	// The host's side always offers SignOn; whether the plugin does shows
	// on the first call (a permanent "does not implement" error).
	_ SignOn = (*identityClient)(nil)
)

func (c *identityClient) Configure(ctx context.Context, req ConfigureRequest) error {
	return c.configure(ctx, func(ctx context.Context, req *proto.ConfigureRequest) error {
		_, err := c.client.Configure(ctx, req)
		return err
	}, req)
}

func (c *identityClient) Info(ctx context.Context) (Info, error) {
	return c.info(ctx, func(ctx context.Context) (*proto.InfoResponse, error) {
		return c.client.Info(ctx, &proto.InfoRequest{})
	})
}

func (c *identityClient) Lookup(ctx context.Context, req LookupRequest) (Identity, error) {
	var resp *proto.LookupResponse
	err := c.call(ctx, "Lookup", func(ctx context.Context) error {
		var err error
		resp, err = c.client.Lookup(ctx, &proto.LookupRequest{Account: req.Account, Authid: req.AuthID})
		return err
	})
	if err != nil {
		return Identity{}, fmt.Errorf("lookup: %w", err)
	}
	if !resp.GetFound() {
		// Whatever else a plugin sent about a user it does not know must
		// not reach the policy.
		return Identity{}, nil
	}
	return Identity{
		Found:      true,
		Name:       resp.GetName(),
		Email:      resp.GetEmail(),
		Phone:      resp.GetPhone(),
		Groups:     resp.GetGroups(),
		Attributes: resp.GetAttributes(),
	}, nil
}

func (c *identityClient) Authorize(ctx context.Context, req AuthorizeRequest) (AuthorizeResponse, error) {
	var resp *proto.AuthorizeResponse
	err := c.call(ctx, "Authorize", func(ctx context.Context) error {
		var err error
		resp, err = c.client.Authorize(ctx, &proto.AuthorizeRequest{
			Account:       req.Account,
			Authid:        req.AuthID,
			State:         req.State,
			Nonce:         req.Nonce,
			CodeChallenge: req.CodeChallenge,
			RedirectUri:   req.RedirectURI,
			LoginHint:     req.LoginHint,
		})
		return err
	})
	if err != nil {
		return AuthorizeResponse{}, fmt.Errorf("authorize: %w", err)
	}
	return AuthorizeResponse{URL: resp.GetUrl()}, nil
}

func (c *identityClient) Exchange(ctx context.Context, req ExchangeRequest) (Claims, error) {
	var resp *proto.ExchangeResponse
	err := c.call(ctx, "Exchange", func(ctx context.Context) error {
		var err error
		resp, err = c.client.Exchange(ctx, &proto.ExchangeRequest{
			Code:         req.Code,
			CodeVerifier: req.CodeVerifier,
			Nonce:        req.Nonce,
			RedirectUri:  req.RedirectURI,
		})
		return err
	})
	if err != nil {
		return Claims{}, fmt.Errorf("exchange: %w", err)
	}
	return Claims{
		Subject:       resp.GetSubject(),
		Issuer:        resp.GetIssuer(),
		Email:         resp.GetEmail(),
		EmailVerified: resp.GetEmailVerified(),
		EmailProof:    resp.GetEmailProof(),
		Name:          resp.GetName(),
		Extra:         resp.GetClaims(),
		// A plugin that predates these fields sends none of them:
		// ProfileRead is then false and the host keeps what it knew.
		Provider:    resp.GetProvider(),
		ProfileRead: resp.GetProfileRead(),
		Position:    resp.GetPosition(),
		Phone:       resp.GetPhone(),
	}, nil
}

// caller holds what every kind's client shares: its kind, and the
// translation of a call's error into the SDK's error contract.
type caller struct {
	kind string
	// doneCtx is cancelled by go-plugin when the plugin process exits.
	doneCtx context.Context
}

func (c caller) configure(ctx context.Context, rpc func(context.Context, *proto.ConfigureRequest) error, req ConfigureRequest) error {
	err := c.call(ctx, "Configure", func(ctx context.Context) error {
		return rpc(ctx, &proto.ConfigureRequest{Config: req.Config})
	})
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	return nil
}

func (c caller) info(ctx context.Context, rpc func(context.Context) (*proto.InfoResponse, error)) (Info, error) {
	var resp *proto.InfoResponse
	err := c.call(ctx, "Info", func(ctx context.Context) error {
		var err error
		resp, err = rpc(ctx)
		return err
	})
	if err != nil {
		return Info{}, fmt.Errorf("info: %w", err)
	}
	return Info{
		Name:         resp.GetName(),
		Version:      resp.GetVersion(),
		Channels:     resp.GetChannels(),
		Capabilities: resp.GetCapabilities(),
		// The service that answered is the kind; a plugin cannot claim
		// another.
		Kind: c.kind,
	}, nil
}

// call runs one RPC (method names it, for errors) and translates its error
// into the SDK's error contract: ErrPermanent (with ErrRefused), ErrWrongKind,
// ErrPluginExited, the caller's context error, or a temporary error.
func (c caller) call(ctx context.Context, method string, rpc func(context.Context) error) error {
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
	case isPermanentCode(st.Code()) && refusedStatus(st):
		return fmt.Errorf("%w: %w: %s", ErrPermanent, ErrRefused, st.Message())
	case isPermanentCode(st.Code()):
		return fmt.Errorf("%w: %s", ErrPermanent, st.Message())
	case st.Code() == codes.Unimplemented && !fromPlugin(st):
		return c.unimplemented(method, st)
	case ctx.Err() != nil:
		return ctx.Err()
	case st.Code() == codes.DeadlineExceeded && pastDeadline(ctx):
		// gRPC's own timer can fire a moment before the context's.
		return context.DeadlineExceeded
	case fromPlugin(st):
		return errors.New(st.Message())
	case c.exited(ctx):
		return ErrPluginExited
	default:
		return fmt.Errorf("call plugin: %w", err)
	}
}

// pastDeadline reports whether ctx has a deadline that has passed.
func pastDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// unimplemented explains an UNIMPLEMENTED answer from the gRPC server (not
// from the plugin's code). Info and Configure are in every kind's service,
// so the server lacking one of them means the process serves another kind;
// any other method is one this plugin was built without. Neither heals by
// retrying.
func (c caller) unimplemented(method string, st *status.Status) error {
	if method == "Info" || method == "Configure" {
		return fmt.Errorf("%w: %w: the plugin does not serve the %s protocol (%s)", ErrWrongKind, ErrPermanent, c.kind, st.Message())
	}
	return fmt.Errorf("%w: the plugin does not implement %s (%s)", ErrPermanent, method, st.Message())
}

// exited waits up to exitGrace for the plugin process to be reported gone.
func (c caller) exited(ctx context.Context) bool {
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
