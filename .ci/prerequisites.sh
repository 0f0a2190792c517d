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
