package api

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/admission"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/store"
)

// Admin API: the account's risk policy. Uploads are compiled and their
// tests run before they become active; every version is kept, so that an
// earlier one (or the built-in default, version 0) can be re-activated.

// policyStore is what the policy handlers read and write: the account's
// policy versions, and what "what would the policy decide" reads to build
// the input as Begin does.
type policyStore interface {
	CreatePolicyVersion(ctx context.Context, v *store.PolicyVersion, events ...store.AuditEvent) error
	ActivatePolicyVersion(ctx context.Context, accountID string, version int, at time.Time, events ...store.AuditEvent) error
	ActivePolicyVersion(ctx context.Context, accountID string) (int, error)
	policies.ActiveVersions // the registry's reads
	GetPolicyVersion(ctx context.Context, accountID string, version int) (store.PolicyVersion, error)
	ListPolicyVersions(ctx context.Context, accountID string) ([]store.PolicyVersion, error)
	admission.InputStore
}

var _ policyStore = (*store.Store)(nil)

const (
	// policyPath is the upload route, whose body may be larger than the
	// API's default (see bodyLimit).
	policyPath = "/v1/admin/policy"
	// maxPolicyBytes bounds an upload: the policy and its tests together.
	maxPolicyBytes = 1 << 20
	// evaluateTimeout bounds "what would the policy decide", reading its
	// input included (the evaluation itself is bounded tighter, by
	// policies.EvaluationTimeout): a policy is code from the account.
	evaluateTimeout = 10 * time.Second
	// concurrentEvaluations bound "what would the policy decide" as the
	// reviewer bounds uploads: at most that many at once in this process,
	// a further one waiting evaluationWait for a turn before a 503. An
	// evaluation holds its turn for at most policies.EvaluationTimeout.
	concurrentEvaluations = 4
	evaluationWait        = time.Second
	// builtinAuthor is the author shown for version 0.
	builtinAuthor = "flexauth"
)

type policyVersionJSON struct {
	Version   int        `json:"version"`
	Rego      *string    `json:"rego,omitempty"`
	Tests     *string    `json:"tests,omitempty"`
	CreatedAt *time.Time `json:"created_at"` // null for the built-in policy
	CreatedBy string     `json:"created_by"`
	Active    *bool      `json:"active,omitempty"`
	Builtin   bool       `json:"builtin"`
	// InheritedFrom names the ancestor organisation whose active version
	// decides, for an organisation without one of its own. Only on
	// "active".
	InheritedFrom string `json:"inherited_from,omitempty"`
}

type policyTestJSON struct {
	Name     string `json:"name"`
	Passed   bool   `json:"passed"`
	Message  string `json:"message,omitempty"`
	Location string `json:"location,omitempty"`
}

type policyProblemJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func toPolicyTests(results []policies.TestResult) []policyTestJSON {
	out := make([]policyTestJSON, len(results))
	for i, r := range results {
		t := policyTestJSON{Name: r.Name, Passed: r.Pass, Location: r.Location}
		switch {
		case r.Error != "":
			t.Message = r.Error
		case !r.Pass:
			t.Message = "the test was false or undefined"
		}
		out[i] = t
	}
	return out
}

// getPolicy shows the policy that decides, sources included (an
// ancestor's, named by inherited_from, when the organisation has no active
// version of its own), and every version of the organisation's own.
func (s *Server) getPolicy(c *gin.Context) {
	ctx, account := c.Request.Context(), caller(c).AccountID
	owner, active, err := s.store.EffectivePolicy(ctx, account)
	if err != nil {
		s.internalError(c, "load active policy version", err)
		return
	}
	stored, err := s.store.ListPolicyVersions(ctx, account)
	if err != nil {
		s.internalError(c, "list policy versions", err)
		return
	}
	var current policyVersionJSON
	if active == store.BuiltinPolicyVersion {
		rego, tests := joinModules(policies.Default()), joinModules(policies.DefaultTests())
		current = policyVersionJSON{Version: active, Rego: &rego, Tests: &tests, CreatedBy: builtinAuthor, Builtin: true}
	} else {
		v, err := s.store.GetPolicyVersion(ctx, owner, active)
		if err != nil {
			s.internalError(c, "load active policy version", err)
			return
		}
		current = policyVersionJSON{Version: v.Version, Rego: &v.Rego, Tests: &v.Tests, CreatedAt: &v.CreatedAt, CreatedBy: v.CreatedBy}
	}
	if owner != account {
		current.InheritedFrom = owner
	}
	own := owner == account
	versions := make([]policyVersionJSON, 0, len(stored)+1)
	for _, v := range stored {
		isActive := own && v.Version == active
		versions = append(versions, policyVersionJSON{
			Version: v.Version, CreatedAt: &v.CreatedAt, CreatedBy: v.CreatedBy, Active: &isActive,
		})
	}
	// Inheriting, the organisation's own active version is the built-in
	// one: activating it returns to inheriting.
	builtinActive := !own || active == store.BuiltinPolicyVersion
	versions = append(versions, policyVersionJSON{
		Version: store.BuiltinPolicyVersion, CreatedBy: builtinAuthor, Active: &builtinActive, Builtin: true,
	})
	c.JSON(http.StatusOK, gin.H{"active": current, "versions": versions})
}

// joinModules shows the built-in policy's files as one text, in name
// order, each headed by its name when there are several.
func joinModules(modules map[string]string) string {
	names := make([]string, 0, len(modules))
	for name := range modules {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 1 {
		return modules[names[0]]
	}
	var b strings.Builder
	for _, name := range names {
		b.WriteString("# file: " + name + "\n")
		b.WriteString(modules[name])
		b.WriteString("\n")
	}
	return b.String()
}

type uploadPolicyRequest struct {
	Rego  string `json:"rego"`
	Tests string `json:"tests"`
}

// uploadPolicy compiles the uploaded policy and runs its tests, in a
// child process with memory and time limits (policies.Reviewer); only a
// policy that compiles and passes them all within the limits is stored,
// and it is active at once. A refusal changes nothing and says where the
// problems are, or which limit the review exceeded.
func (s *Server) uploadPolicy(c *gin.Context) {
	var req uploadPolicyRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	who := caller(c)
	review, err := s.reviewer.Review(c.Request.Context(), req.Rego, req.Tests)
	switch {
	case errors.Is(err, policies.ErrReviewBusy):
		busy(c, s.reviewer.RetryAfter(), "too many policy reviews at once; try again later")
		return
	case err != nil:
		s.internalError(c, "review uploaded policy", err)
		return
	}
	s.log.Info("policy reviewed", "account", who.AccountID, "accepted", review.Accepted(), "limit", review.Limit,
		"peak_memory_mib", review.Usage.PeakMemory>>20, "cpu", review.Usage.CPU)
	tests := toPolicyTests(review.Tests)
	if !review.Accepted() {
		problems := make([]policyProblemJSON, len(review.Problems))
		for i, p := range review.Problems {
			problems[i] = policyProblemJSON{File: p.File, Line: p.Line, Column: p.Column, Message: p.Message}
		}
		out := gin.H{"error": "policy refused: " + review.Refusal, "problems": problems, "tests": tests}
		if review.Limit != "" {
			out["limit"] = review.Limit
		}
		c.JSON(http.StatusUnprocessableEntity, out)
		return
	}
	v := store.PolicyVersion{
		AccountID: who.AccountID, Rego: req.Rego, Tests: req.Tests,
		CreatedAt: s.now().UTC(), CreatedBy: who.Actor,
	}
	ev := s.auditEvent(c, "policy.uploaded", "", "", map[string]any{"tests": len(tests)})
	if err := s.store.CreatePolicyVersion(c.Request.Context(), &v, ev); err != nil {
		s.internalError(c, "store policy version", err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"version": v.Version, "tests": tests})
}

type rollbackPolicyRequest struct {
	Version *int `json:"version"`
}

// rollbackPolicy re-activates an earlier version, or the built-in one (0).
func (s *Server) rollbackPolicy(c *gin.Context) {
	var req rollbackPolicyRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	if req.Version == nil || *req.Version < 0 {
		fail(c, http.StatusBadRequest, "version is required: the number of a stored version, or 0 for the built-in policy")
		return
	}
	ctx, who, version := c.Request.Context(), caller(c), *req.Version
	previous, err := s.store.ActivePolicyVersion(ctx, who.AccountID)
	if err != nil {
		s.internalError(c, "load active policy version", err)
		return
	}
	ev := s.auditEvent(c, "policy.activated", "", "", map[string]any{"version": version, "previous": previous})
	err = s.store.ActivatePolicyVersion(ctx, who.AccountID, version, s.now().UTC(), ev)
	switch {
	case errors.Is(err, store.ErrNotFound):
		failf(c, http.StatusNotFound, "policy version %d not found", version)
	case err != nil:
		s.internalError(c, "activate policy version", err)
	default:
		c.JSON(http.StatusOK, gin.H{"version": version})
	}
}

type evaluatePolicyRequest struct {
	AuthID string `json:"authid"`
	System string `json:"system"`
	IP     string `json:"ip"`
	Time   string `json:"time"`
}

type decisionJSON struct {
	Allow       bool     `json:"allow"`
	Method      string   `json:"method"`
	TTLSeconds  int      `json:"ttl_seconds"`
	MaxAttempts int      `json:"max_attempts"`
	Reasons     []string `json:"reasons"`
	Risk        string   `json:"risk"`
	Channel     string   `json:"channel"`
}

// evaluatePolicy answers "what would the policy decide": the active
// policy's decision for the user signing in to the system, with the input
// built as Begin builds it. The directory plugin, which only the worker
// reaches, is not consulted. Nothing is recorded or sent.
func (s *Server) evaluatePolicy(c *gin.Context) {
	var req evaluatePolicyRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	switch {
	case req.AuthID == "":
		fail(c, http.StatusBadRequest, "authid is required")
		return
	case req.System == "":
		fail(c, http.StatusBadRequest, "system is required")
		return
	}
	if req.IP != "" {
		addr, err := netip.ParseAddr(req.IP)
		if err != nil {
			failf(c, http.StatusBadRequest, "ip %q is not an IP address", req.IP)
			return
		}
		req.IP = addr.String() // as the API records a client's address
	}
	at := s.now().UTC()
	if req.Time != "" {
		t, err := time.Parse(time.RFC3339, req.Time)
		if err != nil {
			failf(c, http.StatusBadRequest, "time %q is not an RFC 3339 time (e.g. 2026-11-23T09:30:00Z)", req.Time)
			return
		}
		at = t.UTC()
	}
	release, ok := acquire(c.Request.Context(), s.evaluations, evaluationWait)
	if !ok {
		busy(c, policies.EvaluationTimeout, "too many policy evaluations at once; try again later")
		return
	}
	defer release()
	account := caller(c).AccountID
	ctx, cancel := context.WithTimeout(c.Request.Context(), evaluateTimeout)
	defer cancel()
	r, err := admission.ResolveInput(ctx, s.store, admission.InputRequest{
		AccountID: account, System: req.System, AuthID: req.AuthID, IP: req.IP, Time: at,
	})
	if err != nil {
		s.internalError(c, "build policy input", err)
		return
	}
	switch r.Unknown {
	case "system":
		failf(c, http.StatusNotFound, "system %q not found", req.System)
		return
	case "user":
		failf(c, http.StatusNotFound, "user %q not found", req.AuthID)
		return
	}
	out := gin.H{"directory": "not consulted"}
	if r.Refusal != "" {
		// Begin denies such a sign-in before asking the policy.
		out["decision"] = decisionJSON{Reasons: []string{r.Refusal}}
		out["input"] = nil
		out["policy_consulted"] = false
		c.JSON(http.StatusOK, out)
		return
	}
	d, version, err := s.policy.DecideVersion(ctx, r.Input)
	if err != nil {
		out["policy_error"] = err.Error()
	}
	if d.Reasons == nil {
		d.Reasons = []string{}
	}
	out["decision"] = decisionJSON{
		Allow: d.Allow, Method: d.Method, TTLSeconds: d.TTLSeconds, MaxAttempts: d.MaxAttempts,
		Reasons: d.Reasons, Risk: d.Risk, Channel: d.Channel,
	}
	out["input"] = r.Input
	out["policy_consulted"] = true
	out["policy_version"] = version
	c.JSON(http.StatusOK, out)
}

// acquire takes one of the slots, waiting at most wait (or until ctx ends)
// for one to free up; ok is false when none did.
func acquire(ctx context.Context, slots chan struct{}, wait time.Duration) (release func(), ok bool) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, true
	case <-timer.C:
		return nil, false
	case <-ctx.Done():
		return nil, false
	}
}

// busy answers 503 with Retry-After: the work is bounded, and the caller's
// turn may come.
func busy(c *gin.Context, retryAfter time.Duration, msg string) {
	c.Header("Retry-After", strconv.Itoa(int(max(retryAfter.Round(time.Second), time.Second)/time.Second)))
	fail(c, http.StatusServiceUnavailable, msg)
}
