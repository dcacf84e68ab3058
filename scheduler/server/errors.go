package server

import (
	"net/http"

	"github.com/suanli/suanli/scheduler/server/api"
)

// httpStatus is the one place that maps an error code to an HTTP status.
func httpStatus(code string) int {
	switch code {
	case api.CodeInvalid:
		return http.StatusBadRequest
	case api.CodeUnauthorized:
		return http.StatusUnauthorized
	case api.CodeNotFound:
		return http.StatusNotFound
	case api.CodeMethod:
		return http.StatusMethodNotAllowed
	case api.CodeConflict, api.CodeUpgradeRequired:
		return http.StatusConflict
	case api.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case api.CodeTooManyRequests:
		return http.StatusTooManyRequests
	case api.CodeNoLeader, api.CodeNotLeader, api.CodeUnknownOutcome, api.CodeTimeout, api.CodeVersionUnknown:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
