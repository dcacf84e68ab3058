package api

import "fmt"

// Stable error codes of the API. Clients switch on Code, never on Message.
const (
	CodeInvalid         = "invalid"      // 400: bad body, field or query parameter (Field names it)
	CodeUnauthorized    = "unauthorized" // 401: missing or wrong token
	CodeNotFound        = "not_found"    // 404
	CodeMethod          = "method_not_allowed"
	CodeConflict        = "conflict"          // 409: e.g. same workload ID with a different spec
	CodeTooLarge        = "body_too_large"    // 413
	CodeTooManyRequests = "too_many_requests" // 429: too many list reads in progress from this client; retry after Retry-After
	CodeNoLeader        = "no_leader"         // 503: no leader known, or the leader is unreachable; not applied, safe to retry
	CodeNotLeader       = "not_leader"        // 503: this server lost leadership before the write was enqueued; not applied
	CodeUnknownOutcome  = "unknown_outcome"   // 503: leadership lost mid-apply; the write may or may not be applied
	CodeTimeout         = "timeout"           // 503: the write was not enqueued in time; not applied
	CodeUpgradeRequired = "upgrade_required"  // 409: the write needs a log version some servers do not support yet; not applied
	CodeVersionUnknown  = "version_unknown"   // 503: the write needs a log version and some servers' are not known yet (just joined); not applied, retry
	CodeInternal        = "internal"          // 500
)

// Error is the body of every error response:
// {"error":{"code":"...","message":"...","field":"..."}}.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field is the path of the offending field of the request body or the
	// query parameter, e.g. "request.cpu_milli", "[3].origin" or "limit";
	// "body" when the body as a whole is at fault (empty, malformed, the
	// wrong JSON type), "query" for a malformed query string.
	Field string `json:"field,omitempty"`
	// Leader is the HTTP address of the leader, when known (no_leader,
	// not_leader).
	Leader string `json:"leader,omitempty"`
	// Status is the HTTP status the error came with (client side only).
	Status int `json:"-"`
}

// ErrorBody wraps Error on the wire.
type ErrorBody struct {
	Error *Error `json:"error"`
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.Field != "" {
		s = fmt.Sprintf("%s (field %s)", s, e.Field)
	}
	return s
}
