package api

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/workflows"
)

// Credential links (welcome links; later reset and email verification
// links) are delivered by the worker, which has the plugins: the API
// starts one CredentialLink workflow per link. The link's row is written in
// the transaction of the change that asks for it (a user's switch turned
// on, a resend), so the request cannot be lost with the process; the row
// is the outbox. After the commit the handler wakes the dispatcher, which
// starts the workflow of every row not started yet and marks it. A start
// that fails (Temporal unreachable) is audited once (<purpose>.delayed)
// and retried every LinkRetryInterval, by every API replica: the workflow
// ID is the link's, so a second start finds the first and delivers
// nothing twice. The API answers before the workflow starts.

const (
	// defaultLinkRetryInterval is how often links whose delivery did not
	// start are tried again.
	defaultLinkRetryInterval = time.Minute
	// linkDispatchBatch bounds the links one pass loads at a time.
	linkDispatchBatch = 100
	// linkStartTimeout bounds one start, shorter than temporalTimeout: a
	// pass may start many.
	linkStartTimeout = 5 * time.Second
	// linkWorkflowTimeout bounds a delivery's workflow, its retries
	// included (a few hours at most).
	linkWorkflowTimeout = 24 * time.Hour
)

// linkStore is the persistence the dispatcher needs.
type linkStore interface {
	UserByID(ctx context.Context, id string) (store.User, error)
	UndispatchedCredentialLinks(ctx context.Context, before time.Time, limit int) ([]store.CredentialLink, error)
	MarkCredentialLinkDispatched(ctx context.Context, id string, at time.Time) error
	CredentialLinkDispatchFailed(ctx context.Context, id string, events ...store.AuditEvent) error
}

var _ linkStore = (*store.Store)(nil)

// linkDispatcher runs the dispatch loop of one server.
type linkDispatcher struct {
	wake     chan struct{} // buffered: a wake-up while a pass runs asks for another
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// startLinkDispatcher starts the dispatch loop; Shutdown stops it.
func (s *Server) startLinkDispatcher() {
	d := &linkDispatcher{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.links = d
	interval := s.cfg.LinkRetryInterval
	go func() {
		defer close(d.done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-d.stop:
				return
			case <-d.wake:
			case <-ticker.C:
			}
			s.dispatchLinks(d.stop)
		}
	}()
	// Rows a stopped process left behind go at once.
	s.wakeLinkDispatcher()
}

// wakeLinkDispatcher asks for a pass now: a handler calls it once the rows
// of its links are committed.
func (s *Server) wakeLinkDispatcher() {
	if s.links == nil {
		return
	}
	select {
	case s.links.wake <- struct{}{}:
	default: // a pass is asked for already, and will see these rows
	}
}

// stopLinkDispatcher stops the loop and waits for its pass to end.
func (s *Server) stopLinkDispatcher(ctx context.Context) error {
	if s.links == nil {
		return nil
	}
	s.links.stopOnce.Do(func() { close(s.links.stop) })
	select {
	case <-s.links.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the link dispatcher: %w", ctx.Err())
	}
}

// dispatchLinks starts the delivery of every link not started yet, oldest
// first, until none is left, a batch fails entirely, or stop closes.
func (s *Server) dispatchLinks(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		links, err := s.store.UndispatchedCredentialLinks(ctx, s.now().UTC().Add(time.Second), linkDispatchBatch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("load credential links to deliver", "error", err)
			}
			return
		}
		started := 0
		for _, l := range links {
			if ctx.Err() != nil {
				return
			}
			if err := s.dispatchLink(ctx, l); err != nil {
				s.log.Error("start a credential link's delivery; retried later", "link", l.ID, "purpose", l.Purpose, "error", err)
				s.recordDispatchFailure(ctx, l, err)
				continue
			}
			started++
		}
		// A short batch was the last; a batch that started nothing would
		// come back the same until the next pass.
		if len(links) < linkDispatchBatch || started == 0 {
			return
		}
	}
}

// dispatchLink starts a link's delivery workflow (or finds it started) and
// marks the link.
func (s *Server) dispatchLink(ctx context.Context, l store.CredentialLink) error {
	startCtx, cancel := context.WithTimeout(ctx, linkStartTimeout)
	defer cancel()
	_, err := s.wf.ExecuteWorkflow(startCtx, client.StartWorkflowOptions{
		ID:                       workflows.CredentialLinkWorkflowID(l.AccountID, l.ID),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionTimeout: linkWorkflowTimeout,
	}, workflows.CredentialLink, workflows.CredentialLinkInput{LinkID: l.ID, AccountID: l.AccountID})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return fmt.Errorf("start delivery of link %s: %w", l.ID, err)
	}
	return s.store.MarkCredentialLinkDispatched(ctx, l.ID, s.now().UTC())
}

// recordDispatchFailure audits a link's first failed start: an
// administrator sees that the message waits, and why.
func (s *Server) recordDispatchFailure(ctx context.Context, l store.CredentialLink, cause error) {
	authid := ""
	if u, err := s.store.UserByID(ctx, l.UserID); err == nil {
		authid = u.AuthID
	}
	ev := store.AuditEvent{
		AccountID: l.AccountID, Time: s.now().UTC(), Type: attempt.LinkEvent(l.Purpose, "delayed"), AuthID: authid,
		Reasons: []string{"its delivery could not be started yet; retried every " + s.cfg.LinkRetryInterval.String()},
		Detail:  map[string]any{"actor": "flexauth", "link": l.ID, "error": cause.Error()},
	}
	if err := s.store.CredentialLinkDispatchFailed(ctx, l.ID, ev); err != nil && ctx.Err() == nil {
		s.log.Error("record a credential link's failed start", "link", l.ID, "error", err)
	}
}
