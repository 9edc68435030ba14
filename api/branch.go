package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// branchQuery is the query parameter with which the users list, the audit
// trail and the dashboard cover the scoped organisation and every
// descendant (true) rather than that organisation alone (false, the
// default). The branch is the caller's own, or the one below
// ?organisation=: never more than the caller administers.
const branchQuery = "branch"

// branchParam reads ?branch=; ok is false when it was neither true nor
// false and the 400 is written.
func branchParam(c *gin.Context) (branch, ok bool) {
	switch c.Query(branchQuery) {
	case "", "false":
		return false, true
	case "true":
		return true, true
	default:
		fail(c, http.StatusBadRequest, "branch must be true or false")
		return false, false
	}
}
