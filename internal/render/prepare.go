package render

import (
	"strings"

	"github.com/kubeless/kubeless/internal/source"
)

// Environment variables that carry user values into the init containers'
// scripts. The scripts only refer to them; the values never become script
// text.
const (
	// EnvFunctionFile is the code's file name in /src and, for code that is
	// not an archive, in the install volume.
	EnvFunctionFile = "KUBELESS_FUNCTION_FILE"
	// EnvFunctionPath is where code that is not an archive goes in the
	// install volume when the handler names a sub-folder ("src/hello.py");
	// unset otherwise.
	EnvFunctionPath = "KUBELESS_FUNCTION_PATH"
	// EnvFunctionURL is the URL to download the code from (content type url).
	EnvFunctionURL = "KUBELESS_FUNCTION_URL"
	// EnvChecksum is spec.checksum ("sha256:<hex>"), checked against the
	// decoded or downloaded code; unset when the Function has none.
	EnvChecksum = "KUBELESS_CHECKSUM"
	// EnvDepsName is the dependency file's name in /src, copied into the
	// install volume; unset when the runtime has none or the archive brings
	// it (+deps).
	EnvDepsName = "KUBELESS_DEPS_NAME"
	// EnvDepsChecksum is the hex SHA-256 of spec.deps, checked by the install
	// container before the catalog command runs; unset when deps is empty.
	EnvDepsChecksum = "KUBELESS_DEPS_CHECKSUM"
	// EnvEventNamespace and EnvPayload configure the cron trigger's call.
	EnvEventNamespace = "KUBELESS_EVENT_NAMESPACE"
	EnvPayload        = "KUBELESS_PAYLOAD"
)

// prepareScript returns the prepare container's script for content type ct
// (docs/compatibility.md §1.2: decode, verify the checksum, place, copy the
// dependency file). It depends on nothing but ct's shape and on whether the
// handler's module is in a sub-folder (subdir). A failure writes
// one line to the termination log, which the controller shows in the
// Function's condition.
func prepareScript(ct source.ContentType, subdir bool) string {
	var b strings.Builder
	b.WriteString(`set -e
fail() { echo "prepare: $*" >&2; echo "prepare: $*" > /dev/termination-log || true; exit 1; }
`)
	switch ct.Encoding {
	case source.EncodingBase64:
		b.WriteString(`base64 -d < "/src/$KUBELESS_FUNCTION_FILE" > /tmp/func.decoded || fail "cannot decode the function as base64"
work=/tmp/func.decoded
`)
	case source.EncodingURL:
		b.WriteString(`if command -v curl > /dev/null 2>&1; then
  curl -fsSL -o /tmp/func.fromurl "$KUBELESS_FUNCTION_URL" || fail "cannot download the function from $KUBELESS_FUNCTION_URL"
else
  wget -q -O /tmp/func.fromurl "$KUBELESS_FUNCTION_URL" || fail "cannot download the function from $KUBELESS_FUNCTION_URL"
fi
work=/tmp/func.fromurl
`)
	default:
		b.WriteString(`work="/src/$KUBELESS_FUNCTION_FILE"
`)
	}
	b.WriteString(`if [ -n "$KUBELESS_CHECKSUM" ]; then
  want="$(printf '%s' "${KUBELESS_CHECKSUM#sha256:}" | tr 'A-F' 'a-f')"
  got="$(sha256sum "$work" | cut -d ' ' -f 1)"
  [ "$got" = "$want" ] || fail "checksum mismatch: expected sha256:$want, got sha256:$got"
fi
`)
	switch ct.Archive {
	case source.ArchiveZip:
		b.WriteString(`unzip -o -q "$work" -d "$KUBELESS_INSTALL_VOLUME" || fail "cannot extract the function's zip archive"
`)
	case source.ArchiveTar:
		// GNU tar and upstream busybox find the compression themselves;
		// some busybox builds (Debian's busybox-static) need -z, -j or -J.
		b.WriteString(`extracted=""
for z in "" z j J; do
  if tar "x${z}f" "$work" -C "$KUBELESS_INSTALL_VOLUME" 2>/dev/null; then extracted=1; break; fi
done
[ -n "$extracted" ] || fail "cannot extract the function's tar archive"
`)
	default:
		if subdir {
			b.WriteString(`mkdir -p "$(dirname "$KUBELESS_INSTALL_VOLUME/$KUBELESS_FUNCTION_PATH")"
cp "$work" "$KUBELESS_INSTALL_VOLUME/$KUBELESS_FUNCTION_PATH"
`)
		} else {
			b.WriteString(`cp "$work" "$KUBELESS_INSTALL_VOLUME/$KUBELESS_FUNCTION_FILE"
`)
		}
	}
	// An empty dependency file (a Function without deps: its ConfigMap
	// still has the key) is not copied: Node.js refuses to load any module
	// beside an empty package.json ("Error parsing package.json").
	if !ct.Deps {
		b.WriteString(`if [ -n "$KUBELESS_DEPS_NAME" ] && [ -s "/src/$KUBELESS_DEPS_NAME" ]; then
  cp "/src/$KUBELESS_DEPS_NAME" "$KUBELESS_INSTALL_VOLUME/$KUBELESS_DEPS_NAME"
fi
`)
	}
	return b.String()
}

// installScript runs the catalog's installation command after checking the
// dependency file against KUBELESS_DEPS_CHECKSUM (when set), as the
// original's `sha256sum -c && <command>`. The command is the catalog's text,
// unchanged.
func installScript(command string) string {
	return `if [ -n "$KUBELESS_DEPS_CHECKSUM" ]; then
  got="$(sha256sum "$KUBELESS_DEPS_FILE" | cut -d ' ' -f 1)"
  if [ "$got" != "$KUBELESS_DEPS_CHECKSUM" ]; then
    echo "install: $KUBELESS_DEPS_FILE: checksum mismatch: expected sha256:$KUBELESS_DEPS_CHECKSUM, got sha256:$got" | tee /dev/termination-log >&2
    exit 1
  fi
fi
` + command
}

// cronScript calls the function once with the event headers, generated at
// run time: event-id from the kernel's random UUID, event-time in Go's
// time.String() form in UTC. With a payload it POSTs it as JSON. curl is
// used when the image has it, wget (busybox) otherwise.
const cronScript = `id="$(cat /proc/sys/kernel/random/uuid 2>/dev/null || date +%s)"
now="$(date -u '+%Y-%m-%d %H:%M:%S +0000 UTC')"
if command -v curl > /dev/null 2>&1; then
  if [ -n "${KUBELESS_PAYLOAD+set}" ]; then
    exec curl -fsS -L -H "event-id: $id" -H "event-time: $now" -H "event-type: application/json" -H "event-namespace: $KUBELESS_EVENT_NAMESPACE" -H "Content-Type: application/json" --data-raw "$KUBELESS_PAYLOAD" "$KUBELESS_FUNCTION_URL"
  fi
  exec curl -fsS -L -H "event-id: $id" -H "event-time: $now" -H "event-type: application/json" -H "event-namespace: $KUBELESS_EVENT_NAMESPACE" "$KUBELESS_FUNCTION_URL"
fi
if [ -n "${KUBELESS_PAYLOAD+set}" ]; then
  exec wget -q -O - --header "event-id: $id" --header "event-time: $now" --header "event-type: application/json" --header "event-namespace: $KUBELESS_EVENT_NAMESPACE" --header "Content-Type: application/json" --post-data "$KUBELESS_PAYLOAD" "$KUBELESS_FUNCTION_URL"
fi
exec wget -q -O - --header "event-id: $id" --header "event-time: $now" --header "event-type: application/json" --header "event-namespace: $KUBELESS_EVENT_NAMESPACE" "$KUBELESS_FUNCTION_URL"
`
