package emulator_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prospect-sync/prospect-sync/emulator"
)

// An admin deletes an Account Engagement user (v5 users are read-only, so through the control):
// reads of it answer not found, the users list leaves it out, its prospects keep assignedToId.
func TestDeleteAEUserControl(t *testing.T) {
	e := newEnv(t, emulator.Options{Seed: true})
	e.control(http.MethodDelete, fmt.Sprintf("/users/%d", emulator.AEUserAlice), nil).want(t, http.StatusNoContent)
	r := e.ae("GET", fmt.Sprintf("/users/%d?fields=id,salesforceId", emulator.AEUserAlice), nil)
	if r.status == http.StatusOK {
		t.Fatalf("deleted user read: %d %s", r.status, r.body)
	}
	if list := e.ae("GET", "/users?fields=id,salesforceId", nil).want(t, http.StatusOK); containsID(string(list.body), emulator.AEUserAlice) {
		t.Errorf("deleted user listed: %s", list.body)
	}
	e.control(http.MethodDelete, fmt.Sprintf("/users/%d", emulator.AEUserAlice), nil).want(t, http.StatusNotFound)
	e.control(http.MethodDelete, "/users/x", nil).want(t, http.StatusBadRequest)
}

func containsID(body string, id int64) bool {
	return len(body) > 0 && (strings.Contains(body, fmt.Sprintf(`"id":%d,`, id)) || strings.Contains(body, fmt.Sprintf(`"id":%d}`, id)))
}
