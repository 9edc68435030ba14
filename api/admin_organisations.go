package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
)

// organisationStore is the organisation tree (see store/organisations.go).
// Every change takes the root of the caller's branch and refuses, as not
// found, what lies outside it.
type organisationStore interface {
	Branch(ctx context.Context, rootID string) ([]store.Organisation, error)
	IsInBranch(ctx context.Context, ancestorID, id string) (bool, error)
	CreateOrganisation(ctx context.Context, within string, org *store.Account, events ...store.AuditEvent) error
	UpdateOrganisation(ctx context.Context, within, id string, u store.OrganisationUpdate, events ...store.AuditEvent) error
	DeleteOrganisation(ctx context.Context, within, id string, events ...store.AuditEvent) error
}

// maxOrganisationIDLength is `flexauth account create`'s bound on account
// IDs: an organisation is an account.
const maxOrganisationIDLength = 100

// organisationQuery is the query parameter with which every admin route
// acts on a descendant of the caller's organisation.
const organisationQuery = "organisation"

// Audit event types of the organisation tree.
const (
	eventOrganisationCreated = "organisation.created"
	eventOrganisationUpdated = "organisation.updated"
	eventOrganisationMoved   = "organisation.moved"
	eventOrganisationDeleted = "organisation.deleted"
)

// organisationJSON is an organisation of the caller's branch with its
// sub-organisations.
type organisationJSON struct {
	ID       string             `json:"id"`
	Name     string             `json:"name"`
	Parent   string             `json:"parent"`
	Users    int                `json:"users"`
	Children []organisationJSON `json:"children"`
}

// organisationTree builds the tree rooted at rootID from a branch.
func organisationTree(rootID string, branch []store.Organisation) organisationJSON {
	children := map[string][]store.Organisation{}
	var root store.Organisation
	for _, o := range branch {
		if o.ID == rootID {
			root = o
			continue
		}
		children[o.ParentID] = append(children[o.ParentID], o)
	}
	var build func(o store.Organisation) organisationJSON
	build = func(o store.Organisation) organisationJSON {
		j := organisationJSON{ID: o.ID, Name: o.Name, Parent: o.ParentID, Users: o.Users, Children: []organisationJSON{}}
		for _, c := range children[o.ID] {
			j.Children = append(j.Children, build(c))
		}
		return j
	}
	return build(root)
}

// scopeOrganisation is the admin API's second middleware: with
// ?organisation=ID the request acts on that organisation, which must be
// the caller's or one of its descendants, as if it were the caller's own;
// handlers read caller(c).AccountID and need not know. Anything else (an
// ancestor, a sibling branch, an unknown ID) is one and the same 404.
func (s *Server) scopeOrganisation(c *gin.Context) {
	target, ok := c.GetQuery(organisationQuery)
	if !ok {
		c.Next()
		return
	}
	who := caller(c)
	in, err := s.store.IsInBranch(c.Request.Context(), who.AccountID, target)
	if err != nil {
		s.internalError(c, "look up organisation", err)
		return
	}
	if !in {
		failf(c, http.StatusNotFound, "organisation %q not found", target)
		return
	}
	who.Home = who.AccountID
	who.AccountID = target
	c.Set(callerContext, who)
	c.Next()
}

// loadInBranch answers 404 unless id is in the branch of the caller's
// (scoped) organisation, exactly as for an organisation that does not
// exist.
func (s *Server) loadInBranch(c *gin.Context, id string) bool {
	return s.loadInBranchOf(c, caller(c).AccountID, id)
}

// loadInBranchOf answers 404 unless id is in the branch rooted at root,
// exactly as for an organisation that does not exist.
func (s *Server) loadInBranchOf(c *gin.Context, root, id string) bool {
	in, err := s.store.IsInBranch(c.Request.Context(), root, id)
	if err != nil {
		s.internalError(c, "look up organisation", err)
		return false
	}
	if !in {
		failf(c, http.StatusNotFound, "organisation %q not found", id)
		return false
	}
	return true
}

// answerOrganisation answers the tree rooted at id.
func (s *Server) answerOrganisation(c *gin.Context, status int, id string) {
	branch, err := s.store.Branch(c.Request.Context(), id)
	if err != nil {
		s.internalError(c, "load organisation", err)
		return
	}
	c.JSON(status, organisationTree(id, branch))
}

func (s *Server) listOrganisations(c *gin.Context) {
	root := caller(c).AccountID
	branch, err := s.store.Branch(c.Request.Context(), root)
	if err != nil {
		s.internalError(c, "load organisations", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"organisations": []organisationJSON{organisationTree(root, branch)}})
}

type createOrganisationRequest struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Parent string `json:"parent"`
	// Reason is the administrator's why, kept in the audit trail.
	Reason string `json:"reason"`
}

// createOrganisation creates a sub-organisation of the caller's
// organisation, or of the descendant named by parent. It is audited in
// the new organisation and in its parent.
func (s *Server) createOrganisation(c *gin.Context) {
	var req createOrganisationRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	if req.Name == "" {
		req.Name = req.ID
	}
	if rerr := firstError(validOrganisationID(req.ID), validName(req.Name), validReason(req.Reason)); rerr != nil {
		respondError(c, rerr)
		return
	}
	who := caller(c)
	if req.Parent == "" {
		req.Parent = who.AccountID
	}
	org := store.Account{ID: req.ID, Name: req.Name, ParentID: req.Parent, CreatedAt: s.now().UTC()}
	ev := s.auditEvent(c, eventOrganisationCreated, "", "", map[string]any{
		"id": org.ID, "name": org.Name, "parent": org.ParentID, "reason": req.Reason,
	})
	err := s.store.CreateOrganisation(c.Request.Context(), who.AccountID, &org, auditedIn(ev, org.ID, org.ParentID)...)
	switch {
	case errors.Is(err, store.ErrConflict):
		failf(c, http.StatusConflict, "organisation %q already exists", req.ID)
	case errors.Is(err, store.ErrNotFound):
		failf(c, http.StatusNotFound, "organisation %q not found", req.Parent)
	case err != nil:
		s.internalError(c, "create organisation", err)
	default:
		c.JSON(http.StatusCreated, organisationJSON{ID: org.ID, Name: org.Name, Parent: org.ParentID, Children: []organisationJSON{}})
	}
}

type updateOrganisationRequest struct {
	Name   *string `json:"name"`
	Parent *string `json:"parent"`
	Reason string  `json:"reason"`
}

// updateOrganisation renames an organisation of the caller's branch
// and/or moves it under another one of the branch. A move is sensitive
// (it changes who administers the organisation): console sessions need a
// fresh sign-in. A move under itself or a descendant is 409.
//
// Both are audited in the organisation they touch, so that administrators
// of every ancestor see them with GET /v1/admin/audit?branch=true; a move
// also in the old and the new parent.
func (s *Server) updateOrganisation(c *gin.Context) {
	var req updateOrganisationRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	if req.Name == nil && req.Parent == nil {
		fail(c, http.StatusBadRequest, "send name, parent or both")
		return
	}
	rerrs := []*requestError{validReason(req.Reason)}
	if req.Name != nil {
		rerrs = append(rerrs, validName(*req.Name))
		if *req.Name == "" {
			rerrs = append(rerrs, badRequest("name must not be empty"))
		}
	}
	if rerr := firstError(rerrs...); rerr != nil {
		respondError(c, rerr)
		return
	}
	if req.Parent != nil && !s.fresh(c) {
		return
	}
	id := c.Param("id")
	if !s.loadInBranch(c, id) {
		return
	}
	ctx := c.Request.Context()
	acc, err := s.store.GetAccount(ctx, id)
	if err != nil {
		s.internalError(c, "load organisation", err)
		return
	}
	// A rename and a move are one transaction: both or neither.
	var update store.OrganisationUpdate
	var events []store.AuditEvent
	if req.Parent != nil && *req.Parent != acc.ParentID {
		if !s.loadInBranch(c, *req.Parent) {
			return
		}
		update.Parent = req.Parent
		// Audited in the organisation moved and in its old and new
		// parent: an administrator of either side sees the move in their
		// own trail, and the ancestors of all three through the branch.
		ev := s.auditEvent(c, eventOrganisationMoved, "", "", map[string]any{
			"id": id, "parent": map[string]any{"old": acc.ParentID, "new": *req.Parent}, "reason": req.Reason,
		})
		events = append(events, auditedIn(ev, id, acc.ParentID, *req.Parent)...)
	}
	if req.Name != nil && *req.Name != acc.Name {
		update.Name = req.Name
		ev := s.auditEvent(c, eventOrganisationUpdated, "", "", map[string]any{
			"id": id, "name": map[string]any{"old": acc.Name, "new": *req.Name}, "reason": req.Reason,
		})
		events = append(events, auditedIn(ev, id)...)
	}
	err = s.store.UpdateOrganisation(ctx, caller(c).AccountID, id, update, events...)
	switch {
	case errors.Is(err, store.ErrCycle):
		failf(c, http.StatusConflict, "organisation %q cannot move under %q: that is itself or one of its sub-organisations", id, *req.Parent)
		return
	case errors.Is(err, store.ErrNotFound):
		failf(c, http.StatusNotFound, "organisation %q not found", id)
		return
	case err != nil:
		s.internalError(c, "update organisation", err)
		return
	}
	s.answerOrganisation(c, http.StatusOK, id)
}

// deleteOrganisation deletes an organisation of the caller's branch
// (behind requireFresh), once it has neither users nor sub-organisations.
// Its audit trail stays; the deletion is audited in it and in its parent.
func (s *Server) deleteOrganisation(c *gin.Context) {
	id := c.Param("id")
	reason := c.Query("reason")
	if rerr := validReason(reason); rerr != nil {
		respondError(c, rerr)
		return
	}
	if !s.loadInBranch(c, id) {
		return
	}
	ctx := c.Request.Context()
	acc, err := s.store.GetAccount(ctx, id)
	if err != nil {
		s.internalError(c, "load organisation", err)
		return
	}
	ev := s.auditEvent(c, eventOrganisationDeleted, "", "", map[string]any{
		"id": id, "name": acc.Name, "parent": acc.ParentID, "reason": reason,
	})
	err = s.store.DeleteOrganisation(ctx, caller(c).AccountID, id, auditedIn(ev, id, acc.ParentID)...)
	switch {
	case errors.Is(err, store.ErrOrganisationInUse):
		failf(c, http.StatusConflict, "organisation %q still has users or sub-organisations: move or delete them first", id)
	case errors.Is(err, store.ErrOwnOrganisation):
		failf(c, http.StatusConflict, "organisation %q is the one you administer: it cannot delete itself", id)
	case errors.Is(err, store.ErrNotFound):
		failf(c, http.StatusNotFound, "organisation %q not found", id)
	case err != nil:
		s.internalError(c, "delete organisation", err)
	default:
		c.Status(http.StatusNoContent)
	}
}

// validOrganisationID checks an organisation's ID as `flexauth account
// create` checks an account's: applications and the console name it.
func validOrganisationID(id string) *requestError {
	if id == "" {
		return badRequest("id is required")
	}
	if len(id) > maxOrganisationIDLength {
		return badRequest("id must be at most %d characters", maxOrganisationIDLength)
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '-') {
			return badRequest("id %q may hold only letters, digits, '.', '_' and '-'", id)
		}
	}
	return nil
}

// maxReasonLength bounds the free-text reason kept in the audit trail.
const maxReasonLength = 500

func validReason(reason string) *requestError {
	if len(reason) > maxReasonLength {
		return badRequest("reason must be at most %d characters", maxReasonLength)
	}
	return checked(userio.CheckText("reason", reason))
}
