#!/usr/bin/env bash
# Links stay within one account, even for a caller who can see both accounts.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
mk_account 100000000000; mk_account 111111111111 100000000000; mk_account 222222222222 100000000000
api "$ADMIN" POST /api/v1/incidents '{"account":"111111111111","title":"a"}'; A=$(jf .id)
api "$ADMIN" POST /api/v1/problems '{"account":"222222222222","title":"b"}'; B=$(jf .id)
api "$ADMIN" POST /api/v1/problems '{"account":"111111111111","title":"c"}'; C=$(jf .id)
api "$ADMIN" POST /api/v1/articles '{"account":"222222222222","title":"kb","body":"text"}'; KB=$(jf .id)
api "$ADMIN" POST "/api/v1/incidents/$A/links" "{\"ticket\":\"$B\"}"
is "$STATUS" 422 "a ticket of another account cannot be linked, even by a global admin"
is "$(jf .error.code)" cross_account_link "… with its own error code"
like "$(jf .error.message)" "within one account" "… and a sentence saying why"
api "$ADMIN" POST "/api/v1/incidents/$A/links" "{\"article\":\"$KB\"}"
is "$STATUS" 422 "an article of another account cannot be linked"
api "$ADMIN" GET "/api/v1/incidents/$A"; is "$(jf '.links | length')" 0 "nothing was linked"
api "$ADMIN" POST "/api/v1/incidents/$A/links" "{\"ticket\":\"$C\"}"; is "$STATUS" 201 "same-account links still work"
done_testing
