package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/workflows"
)

// This file holds every call the API makes to Temporal for attempts:
// starting one and submitting to one (credential_links.go starts link
// deliveries). Handlers never see Temporal errors; they
// see a result, errAttemptClosed, or an error that means "unavailable".

// workflowClient is the part of the Temporal client the API uses.
type workflowClient interface {
	NewWithStartWorkflowOperation(options client.StartWorkflowOptions, workflow any, args ...any) client.WithStartWorkflowOperation
	UpdateWithStartWorkflow(ctx context.Context, options client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error)
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	// CheckHealth answers /readyz (readyz.go).
	CheckHealth(ctx context.Context, request *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

var _ workflowClient = client.Client(nil)

// attemptTaskTimeout is how long a workflow task may run before Temporal
// hands it to another worker.
const attemptTaskTimeout = 5 * time.Second

// attemptExecutionTimeout bounds an attempt's workflow whatever its TTL: a
// policy cannot keep one alive forever.
const attemptExecutionTimeout = time.Hour

// errAttemptClosed means the attempt's run no longer takes submissions: it
// completed, was superseded, or its validator refused (not pending, another
// attempt, another method). The attempt row says what became of it.
var errAttemptClosed = errors.New("attempt no longer accepts submissions")

// beginAttempt starts the attempt workflow, terminating the subject's
// running attempt (a new start supersedes it), and waits for the policy's
// decision. A start superseded by a concurrent one before its decision is
// refused (Allowed false), with its outcome recorded, rather than failed:
// of several starts at once for one subject the last one stands.
func (s *Server) beginAttempt(ctx context.Context, in workflows.AttemptInput) (workflows.BeginResult, error) {
	asked := s.now().UTC()
	res, err := s.startAttempt(ctx, in)
	if err == nil {
		return res, nil
	}
	if !closedBeforeBegin(err) {
		return workflows.BeginResult{}, err
	}
	if rerr := s.recordSuperseded(ctx, in, asked); rerr != nil {
		return workflows.BeginResult{}, errors.Join(err, rerr)
	}
	return workflows.BeginResult{AttemptID: in.AttemptID}, nil
}

// closedBeforeBegin tells a start whose run closed before it answered
// ("workflow update was aborted by closing workflow", or the run was gone
// before the update reached it) from a Temporal that did not answer. An
// attempt's run waits for its decision before anything can end it but a
// newer start of the same subject terminating it: that is what happened.
// (A run failing on a bug would also close early: refused, fail closed.)
func closedBeforeBegin(err error) bool {
	var notFound *serviceerror.NotFound
	return errors.As(err, &notFound)
}

// recordSuperseded records a start superseded before it began: its attempt
// row (which its run may not have written) ends cancelled, audited once.
// It is dated when the start was asked for, before the start that
// superseded it, so that it never passes for the subject's latest attempt.
func (s *Server) recordSuperseded(ctx context.Context, in workflows.AttemptInput, asked time.Time) error {
	ctx = context.WithoutCancel(ctx)
	now := s.now().UTC()
	cancelled := store.AuditEvent{
		AccountID: in.AccountID, Time: now, Type: "attempt.cancelled", System: in.System, AuthID: in.AuthID,
		AttemptID: in.AttemptID, IP: in.IP, Reasons: []string{"superseded by a concurrent start before it began"},
	}
	row := store.Attempt{
		ID: in.AttemptID, AccountID: in.AccountID, System: in.System, AuthID: in.AuthID,
		WorkflowID: s.workflowID(in), State: store.AttemptCancelled,
		IP: in.IP, UserAgent: in.UserAgent, StartedAt: asked, UpdatedAt: now, CompletedAt: &now,
	}
	if inserted, err := s.store.InsertAttempt(ctx, &row, cancelled); err != nil || inserted {
		return err
	}
	_, err := s.store.PublishAttempt(ctx, in.AttemptID, store.AttemptUpdate{State: store.AttemptCancelled, At: now}, cancelled)
	return err
}

// startAttempt runs the Update-With-Start of beginAttempt.
func (s *Server) startAttempt(ctx context.Context, in workflows.AttemptInput) (workflows.BeginResult, error) {
	id := s.workflowID(in)
	in.Shape = workflows.CurrentShape
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	op := s.wf.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionTimeout: attemptExecutionTimeout,
		// A worker that dies mid-task holds the attempt until this expires:
		// keep it short, the attempt's tasks are a few local calls.
		WorkflowTaskTimeout: attemptTaskTimeout,
	}, workflows.Attempt, in)
	h, err := s.wf.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   workflows.UpdateBegin,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return workflows.BeginResult{}, fmt.Errorf("start attempt %s: %w", in.AttemptID, err)
	}
	var res workflows.BeginResult
	if err := h.Get(ctx, &res); err != nil {
		return workflows.BeginResult{}, fmt.Errorf("begin attempt %s: %w", in.AttemptID, err)
	}
	return res, nil
}

// submit sends a code or link digest to the attempt's own run (not the
// latest run of its workflow ID: a superseded attempt must not reach its
// successor) and returns the workflow's verdict.
func (s *Server) submit(ctx context.Context, att store.Attempt, update, digest string) (workflows.Verdict, error) {
	return s.submitWith(ctx, att, update, workflows.Submission{AttemptID: att.ID, Digest: digest})
}

// submitWith is submit with the whole submission.
func (s *Server) submitWith(ctx context.Context, att store.Attempt, update string, sub workflows.Submission) (workflows.Verdict, error) {
	return s.submitAs(ctx, att, update, "", sub)
}

// submitAs is submitWith under a given update ID ("" for one drawn by the
// client): a password is sealed on the attempt under its update's ID
// before the update is sent.
func (s *Server) submitAs(ctx context.Context, att store.Attempt, update, updateID string, sub workflows.Submission) (workflows.Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	h, err := s.wf.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		UpdateID:     updateID,
		WorkflowID:   att.WorkflowID,
		RunID:        att.RunID,
		UpdateName:   update,
		Args:         []any{sub},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var v workflows.Verdict
		if err = h.Get(ctx, &v); err == nil {
			return v, nil
		}
	}
	if closedRun(err) {
		return workflows.Verdict{}, fmt.Errorf("%s to attempt %s: %w", update, att.ID, errAttemptClosed)
	}
	return workflows.Verdict{}, fmt.Errorf("%s to attempt %s: %w", update, att.ID, err)
}

// closedRun tells a run that refuses or can no longer take an update from a
// Temporal that cannot be reached.
func closedRun(err error) bool {
	// A failed activity inside the handler (the store or the TOTP check
	// gave up) is an outage, not a verdict.
	var actErr *temporal.ActivityError
	if errors.As(err, &actErr) {
		return false
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// "workflow execution already completed", "workflow update was
		// aborted by closing workflow", or a run that no longer exists.
		return true
	}
	// Validator rejections (ErrNotPending, ErrStaleAttempt, ErrWrongMethod)
	// and the server's "completed before the update completed" arrive as
	// application errors.
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr)
}

// purposeWorkflowSubject keeps workflow subject digests apart from every
// other use of the keyring.
const purposeWorkflowSubject = "workflow-subject"

// workflowID is the attempt's workflow ID: its account and a keyed digest
// of its system and user, so that Temporal never holds the authid in
// clear. A master key rotation changes it; an attempt begun before one is
// still superseded in the store (its row is cancelled), and its run ends at
// its TTL.
func (s *Server) workflowID(in workflows.AttemptInput) string {
	return workflows.WorkflowID(in.AccountID, s.keys.Digest(purposeWorkflowSubject, in.System, in.AuthID))
}
