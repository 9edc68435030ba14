package api

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/store"
)

// Admin API: moving a user to another organisation of the caller's branch.

// userMoveStore is the persistence a move needs beyond the user and
// system stores.
type userMoveStore interface {
	MoveUser(ctx context.Context, within string, m store.UserMove, events ...store.AuditEvent) error
}

var _ userMoveStore = (*store.Store)(nil)

// eventUserMoved is audited in both organisations: the one the user left
// and the one it joined, so that the administrators of each see it.
const eventUserMoved = "user.moved"

type moveUserRequest struct {
	Organisation string `json:"organisation"`
	// Reason is the administrator's why, kept in the audit trail.
	Reason string `json:"reason"`
}

type moveUserJSON struct {
	AuthID string `json:"authid"`
	From   string `json:"from"`
	// Organisation is where the user is now.
	Organisation string `json:"organisation"`
	// Assignments are those carried over: to the new organisation's system
	// of the same name, where it enables the same method. Dropped are the
	// rest; the console system is never carried over (moving a user does
	// not make it an administrator of its new organisation).
	Assignments []store.AssignedSystem `json:"assignments"`
	Dropped     []store.AssignedSystem `json:"dropped_assignments"`
}

// moveUser moves the :authid user of the organisation the request acts on
// to another organisation of the caller's branch (the administrator's own
// organisation and its descendants, whatever ?organisation= names). The
// user keeps its credentials; see store.UserMove for what stays behind.
func (s *Server) moveUser(c *gin.Context) {
	var req moveUserRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	if req.Organisation == "" {
		fail(c, http.StatusBadRequest, "organisation is required: the id of the organisation to move the user to")
		return
	}
	if rerr := validReason(req.Reason); rerr != nil {
		respondError(c, rerr)
		return
	}
	who := caller(c)
	root := who.Home
	if root == "" {
		root = who.AccountID
	}
	if !s.loadInBranchOf(c, root, req.Organisation) {
		return
	}
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	if u.AccountID == req.Organisation {
		failf(c, http.StatusConflict, "user %q is in organisation %q already", u.AuthID, req.Organisation)
		return
	}
	if !s.keepsConsoleAdmin(c, u) {
		return
	}
	ctx := c.Request.Context()
	current, err := s.store.ListAssignments(ctx, u.ID)
	if err != nil {
		s.internalError(c, "list assignments", err)
		return
	}
	systems, err := s.store.ListSystems(ctx, req.Organisation)
	if err != nil {
		s.internalError(c, "list the systems of the organisation to move to", err)
		return
	}
	out := moveUserJSON{AuthID: u.AuthID, From: u.AccountID, Organisation: req.Organisation,
		Assignments: []store.AssignedSystem{}, Dropped: []store.AssignedSystem{}}
	var rows []store.Assignment
	for _, a := range current {
		i := slices.IndexFunc(systems, func(sys store.System) bool { return sys.Name == a.System })
		if a.System == consoleSystem || i < 0 || !slices.Contains(systems[i].Methods, a.Method) {
			out.Dropped = append(out.Dropped, a)
			continue
		}
		out.Assignments = append(out.Assignments, a)
		rows = append(rows, store.Assignment{UserID: u.ID, SystemID: systems[i].ID, Method: a.Method})
	}
	detail := map[string]any{"from": out.From, "to": out.Organisation,
		"assignments": out.Assignments, "dropped_assignments": out.Dropped}
	if req.Reason != "" {
		detail["reason"] = req.Reason
	}
	ev := s.auditEvent(c, eventUserMoved, "", u.AuthID, detail)
	m := store.UserMove{UserID: u.ID, AuthID: u.AuthID, From: u.AccountID, To: req.Organisation,
		Assignments: rows, At: s.now().UTC()}
	err = s.store.MoveUser(ctx, root, m, auditedIn(ev, u.AccountID, req.Organisation)...)
	if rerr, ok := lastConsoleAdminError(err, u.AuthID); ok {
		respondError(c, rerr)
		return
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		failf(c, http.StatusConflict, "organisation %q has a user %q already, or one with the same single sign-on identity, or its systems changed; nothing was moved", req.Organisation, u.AuthID)
		return
	case errors.Is(err, store.ErrNotFound):
		fail(c, http.StatusConflict, "the user or the organisations changed while moving; nothing was moved, try again")
		return
	case err != nil:
		s.internalError(c, "move user", err)
		return
	}
	c.JSON(http.StatusOK, out)
}
