# env.sh -- Glance's settings as glance-api sees them: the environment first, then the .env file. Sourced by
# deploy/stack.sh and run.sh, so that a setting in .env means the same to them as to the replicas.
# shellcheck shell=bash

# glance_setting NAME DEFAULT: prints NAME from the environment, else from the .env file ($GLANCE_ENV_FILE,
# default .env in the repository root) read the way glance-api reads it (KEY=VALUE lines, an optional
# `export `, optional quotes, `#` comments; the last line for a name wins), else DEFAULT.
glance_setting() {
  local name=$1 value=$2 line key
  local file=${GLANCE_ENV_FILE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.env}
  if [[ -n ${!name+set} ]]; then
    printf '%s\n' "${!name}"
    return
  fi
  if [[ -f $file ]]; then
    while IFS= read -r line || [[ -n $line ]]; do
      line=${line#"${line%%[![:space:]]*}"}
      line=${line#export }
      [[ $line == *=* && $line != \#* ]] || continue
      key=${line%%=*}
      [[ ${key%"${key##*[![:space:]]}"} == "$name" ]] || continue
      line=${line#*=}
      line=${line#"${line%%[![:space:]]*}"}
      if [[ $line =~ ^\"([^\"]*)\" || $line =~ ^\'([^\']*)\' ]]; then
        value=${BASH_REMATCH[1]}
      else
        value=${line%%[[:space:]]#*}
        value=${value%$'\r'}
        value=${value%"${value##*[![:space:]]}"}
      fi
    done <"$file"
  fi
  printf '%s\n' "$value"
}
