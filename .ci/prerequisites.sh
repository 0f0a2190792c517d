# Shared by ./run and ./test: installs what the server and its tests need when it is missing.
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  echo "==> Installing $* (apt-get)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_runtime_tools() {
  command -v dotnet >/dev/null || { echo "The .NET SDK (dotnet) is required: https://dot.net" >&2; exit 1; }
  local missing=()
  command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
  [[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
  if ((${#missing[@]})); then apt_install "${missing[@]}"; fi
}

ensure_python_requests() {
  if ! command -v python3 >/dev/null; then apt_install python3 python3-requests; fi
  if ! python3 -c 'import requests' 2>/dev/null; then
    apt_install python3-requests || python3 -m pip install --quiet requests
  fi
}

# The OpenAPI validator the suite runs on the server's documents: @apidevtools/swagger-parser (npm, MIT), which checks a
# document against the OpenAPI schema of its version (3.1 included) and resolves every $ref. Installed once into
# tools/openapi-validator (git ignores tools/); the tests run .ci/openapi-validate.js with it. 12.1.0 is the newest that
# runs on the Node.js 20 of Debian's packages (13.x asks for Node.js 22).
SWAGGER_PARSER_VERSION=12.1.0
ensure_openapi_validator() {
  local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local tools="$root/tools/openapi-validator"
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  if [[ ! -f "$tools/node_modules/@apidevtools/swagger-parser/package.json" ]] \
     || [[ $(node -p "require('$tools/node_modules/@apidevtools/swagger-parser/package.json').version") != "$SWAGGER_PARSER_VERSION" ]]; then
    echo "==> Installing the OpenAPI validator @apidevtools/swagger-parser $SWAGGER_PARSER_VERSION (npm, into tools/openapi-validator)"
    mkdir -p "$tools"
    npm install --silent --no-audit --no-fund --no-save --prefix "$tools" "@apidevtools/swagger-parser@$SWAGGER_PARSER_VERSION" >/dev/null
  fi
}

# promtool, which checks the Prometheus configuration and alert rules of deploy/prometheus (and runs their unit tests):
# Debian's prometheus package carries it.
ensure_promtool() {
  command -v promtool >/dev/null || apt_install prometheus
}

# The web console's browser tests drive Debian's chromium through chromium-driver (Selenium); browsers cannot be downloaded.
ensure_chromium() {
  command -v chromium >/dev/null && command -v chromedriver >/dev/null || apt_install chromium chromium-driver
}
