#!/usr/bin/env bash
# A curl walk-through of the WhatsApp channel against a running local runner
# (`cargo run -p local`). Every step checks what it expects and stops at the first surprise.
#
#   BASE_URL=http://127.0.0.1:8080 ./scripts/demo.sh
set -euo pipefail

BASE_URL=${BASE_URL:-http://127.0.0.1:8080}

# get FIELD.PATH from JSON on stdin (numbers index lists), like a tiny jq.
get() {
  python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[int(k)] if k.isdigit() else d[k]
print(json.dumps(d) if isinstance(d, (dict, list)) else ("" if d is None else d))' "$1"
}
fail() { echo "FAILED: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

demo=$(curl -fsS "$BASE_URL/local/demo")
ACME=$(get organizations.0.token <<<"$demo")
GLOBEX=$(get organizations.1.token <<<"$demo")
api() { # METHOD PATH TOKEN [JSON]
  local args=(-sS -X "$1" -H "Authorization: Bearer $3")
  [ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' -d "$4")
  curl "${args[@]}" "$BASE_URL$2"
}
sandbox() { # METHOD PATH [JSON]
  local args=(-sS -X "$1")
  [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
  curl "${args[@]}" "$BASE_URL/sandbox$2"
}
status_of() { # CONTACT MESSAGE_ID
  api GET "/whatsapp/messages?contact_id=$1" "$ACME" | python3 -c '
import json, sys
ms = json.load(sys.stdin)["messages"]
print(next(m["status"] for m in ms if m["id"] == sys.argv[1]))' "$2"
}
SEEN=""
wait_for() { # CONTACT MESSAGE_ID STATUS[|STATUS…] → prints each status seen, kept in $SEEN
  local s
  SEEN=""
  for _ in $(seq 1 200); do
    s=$(status_of "$1" "$2")
    [ "$s" != "${SEEN##* }" ] && SEEN="$SEEN $s" && echo "   status: $s"
    [[ "|$3|" == *"|$s|"* ]] && return 0
    sleep 0.05
  done
  fail "message $2 never reached $3 (saw:$SEEN)"
}

step "Channel status of the configured organization"
api GET /whatsapp/channel "$ACME"; echo

step "Eligible contacts"
api GET /whatsapp/contacts "$ACME" | python3 -c 'import json,sys; [print("  ", c["contact_id"], c["name"], c["phone_number"]) for c in json.load(sys.stdin)["contacts"]]'

step "Send a text to Aisha; it goes PENDING → SENT → DELIVERED → READ"
sent=$(api POST /whatsapp/messages "$ACME" '{"contact_id":"c-aisha","text":"Hi Aisha, your order has shipped."}')
id=$(get messages.0.id <<<"$sent")
echo "   accepted $id as $(get messages.0.status <<<"$sent")"
wait_for c-aisha "$id" READ
[[ " $SEEN " == *" DELIVERED "* ]] || fail "DELIVERED was never seen before READ (saw:$SEEN)"

step "Aisha replies through the sandbox; a poll with ?after= shows only the reply"
cursor=$(api GET "/whatsapp/messages?contact_id=c-aisha" "$ACME" | get next_after)
sandbox POST /reply '{"organization_id":"acme","from":"+60123456789","body":"Thanks! When will it arrive?"}' >/dev/null
poll=$(api GET "/whatsapp/messages?contact_id=c-aisha&after=$cursor" "$ACME")
[ "$(get messages.0.text <<<"$poll")" = "Thanks! When will it arrive?" ] || fail "reply not in poll: $poll"
[ "$(get messages.0.direction <<<"$poll")" = "INBOUND" ] || fail "reply is not inbound"
echo "   new: $(get messages.0.text <<<"$poll")"

step "Ben sends STOP; he drops out of the eligible list"
sandbox POST /reply '{"organization_id":"acme","from":"+6591234567","body":"STOP"}' >/dev/null
contacts=$(api GET /whatsapp/contacts "$ACME")
grep -q '"c-ben"' <<<"$contacts" && fail "Ben is still listed"
echo "   Ben is no longer listed"
refused=$(api POST /whatsapp/messages "$ACME" '{"contact_id":"c-ben","text":"Still there?"}')
echo "   sending to Ben: $(get error.message <<<"$refused")"

step "The sandbox fails twice with HTTP 500; the worker retries and the message is SENT"
sandbox POST /faults '{"mode":"server_error","times":2}' >/dev/null
sent=$(api POST /whatsapp/messages "$ACME" '{"contact_id":"c-carla","text":"Retried message"}')
wait_for c-carla "$(get messages.0.id <<<"$sent")" SENT

step "Upload a PNG and a PDF through presigned URLs; send them with a text: two messages"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89' >"$tmp/dot.png"
printf '%%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%%%EOF\n' >"$tmp/invoice.pdf"
upload() { # FILE CONTENT_TYPE → prints the attachment JSON
  local size presigned url
  size=$(wc -c <"$1" | tr -d ' ')
  presigned=$(api POST /whatsapp/attachments "$ACME" "{\"filename\":\"$(basename "$1")\",\"content_type\":\"$2\",\"size\":$size}")
  url=$(get upload.url <<<"$presigned")
  # Exactly the headers the URL was signed with (content type, and on S3 the upload tag).
  local headers=()
  while IFS= read -r h; do headers+=(-H "$h"); done < <(python3 -c '
import json, sys
for k, v in json.load(sys.stdin)["upload"]["headers"].items():
    print(f"{k}: {v}")' <<<"$presigned")
  curl -fsS -X PUT "${headers[@]}" --data-binary "@$1" "$url" >/dev/null || fail "upload of $1 refused"
  get attachment <<<"$presigned"
}
png=$(upload "$tmp/dot.png" image/png)
pdf=$(upload "$tmp/invoice.pdf" application/pdf)
sent=$(api POST /whatsapp/messages "$ACME" "{\"contact_id\":\"c-carla\",\"text\":\"Your invoice\",\"attachments\":[$png,$pdf]}")
[ "$(get messages.0.message_type <<<"$sent")" = IMAGE ] || fail "first is not an IMAGE: $sent"
[ "$(get messages.1.message_type <<<"$sent")" = DOCUMENT ] || fail "second is not a DOCUMENT: $sent"
echo "   caption on the image: $(get messages.0.text <<<"$sent")"
# Delivered, or read already: the sandbox's contact reads within a second, and a busy machine
# may poll past DELIVERED (the first send above checks every step in order).
wait_for c-carla "$(get messages.0.id <<<"$sent")" "DELIVERED|READ"
wait_for c-carla "$(get messages.1.id <<<"$sent")" "DELIVERED|READ"

step "Carla sends a photo through the sandbox; the conversation offers our own download"
sandbox POST /reply '{"organization_id":"acme","from":"+447911123456","media":"image"}' >/dev/null
url=""
for _ in $(seq 1 100); do
  url=$(api GET "/whatsapp/messages?contact_id=c-carla" "$ACME" | python3 -c '
import json, sys
m = json.load(sys.stdin)["messages"][-1]
a = (m.get("attachments") or [{}])[0]
print(a.get("url") or "")')
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || fail "the photo was never copied"
curl -fsS "$url" -o "$tmp/photo.jpg"
head -c 3 "$tmp/photo.jpg" | od -An -tx1 | grep -q "ff d8 ff" || fail "the download is not the JPEG the contact sent"
echo "   downloaded $(wc -c <"$tmp/photo.jpg" | tr -d ' ') bytes of image/jpeg"

step "Dev wrote 30 hours ago: free-form is refused, an approved template goes out and is read"
refused=$(api POST /whatsapp/messages "$ACME" '{"contact_id":"c-dev","text":"Are you still interested?"}')
[ "$(get error.code <<<"$refused")" = "outside_24h_window" ] || fail "free-form outside the window: $refused"
echo "   free-form: $(get error.message <<<"$refused")"
templates=$(api GET /whatsapp/templates "$ACME")
names=$(python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)["templates"]))' <<<"$templates")
[ "$names" = "appointment_reminder invoice_ready order_shipped" ] || fail "approved templates: $names"
echo "   approved templates: $names"
sid=$(python3 -c 'import json,sys; print(next(t["content_sid"] for t in json.load(sys.stdin)["templates"] if t["name"] == "order_shipped"))' <<<"$templates")
sent=$(api POST /whatsapp/messages "$ACME" "{\"contact_id\":\"c-dev\",\"template\":{\"content_sid\":\"$sid\",\"variables\":{\"1\":\"Dev\",\"2\":\"#2231\",\"3\":\"Monday\"}}}")
id=$(get messages.0.id <<<"$sent")
[ "$(get messages.0.text <<<"$sent")" = "Hi Dev, your order #2231 has shipped and should arrive on Monday." ] || fail "$sent"
echo "   template: $(get messages.0.text <<<"$sent")"
wait_for c-dev "$id" READ

step "The unconfigured organization"
channel=$(api GET /whatsapp/channel "$GLOBEX")
[ "$(get reason <<<"$channel")" = "WhatsApp is not configured for this organization." ] || fail "$channel"
echo "   channel: $(get reason <<<"$channel")"
refused=$(api POST /whatsapp/messages "$GLOBEX" '{"contact_id":"g-hana","text":"Hello"}')
[ "$(get error.message <<<"$refused")" = "WhatsApp is not configured for this organization." ] || fail "$refused"
echo "   send: $(get error.message <<<"$refused")"

printf '\nDemo walk-through passed.\n'
