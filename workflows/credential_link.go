package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/flexauth/flexauth/activities"
)

// CredentialLinkWorkflowID is the ID of a link's delivery workflow: its
// account and the link's random ID, so that it names no user, and a start
// retried by the API finds the workflow already started instead of
// delivering twice.
func CredentialLinkWorkflowID(accountID, linkID string) string {
	return "credential-link/" + accountID + "/" + linkID
}

// CredentialLinkInput is the input of CredentialLink, which the API starts
// it with: the link's ID and account, the same as its delivery activity's
// (an alias, so that the API speaks to the workflow without importing the
// activities).
type CredentialLinkInput = activities.CredentialLinkInput

// LinkFailed is the state of a link whose delivery failed for good: the
// link is voided and the audit trail says why.
const LinkFailed = "failed"

// CredentialLinkResult is how a link's delivery ended: activities.LinkSent,
// activities.LinkClosed (used or voided meanwhile: nothing to send) or
// LinkFailed, with the reason.
type CredentialLinkResult struct {
	State   string
	Reasons []string
}

// linkDeliveryOptions retry a delivery much longer than an attempt's: a
// welcome link lives for days, so a mail server down for an hour delays it
// rather than losing it. The refusals (no email, switches off, a permanent
// plugin error) are not retried.
var linkDeliveryOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
		MaximumInterval: 10 * time.Minute, MaximumAttempts: 25,
		NonRetryableErrorTypes: []string{activities.ErrTypeDelivery, activities.ErrTypeNoSecret, activities.ErrTypeBadInput},
	},
}

// CredentialLink delivers one credential link (a welcome link, and later
// reset and email verification links): the activity draws the token, keeps
// it sealed while it retries, and sends it. A delivery that fails for good
// voids the link and is audited, so that no request is lost in silence.
// Neither the token nor the user ever enters the history: the input is the
// link's ID, the result its state.
func CredentialLink(ctx workflow.Context, in CredentialLinkInput) (CredentialLinkResult, error) {
	var res activities.CredentialLinkResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, linkDeliveryOptions), acts.DeliverCredentialLink, in).Get(ctx, &res)
	if err == nil {
		return CredentialLinkResult{State: res.State}, nil
	}
	reason := "delivery failed: " + errorMessage(err)
	err = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions), acts.FailCredentialLink, activities.FailLinkInput{
		LinkID: in.LinkID, AccountID: in.AccountID, Reason: reason,
	}).Get(ctx, nil)
	if err != nil {
		// The store is unreachable: the workflow fails, which Temporal
		// shows; the link stays unsent and unusable by anyone.
		return CredentialLinkResult{}, err
	}
	return CredentialLinkResult{State: LinkFailed, Reasons: []string{reason}}, nil
}
