#!/bin/sh
# A fake `ipmitool` for tests: `[-I lanplus -H host -U user -E] dcmi power reading` in the real layouts,
# and `[...] shell`, which reads commands from stdin as ipmitool's readline shell does (src/ipmishell.c):
# `dcmi power reading`, `echo ARGS` (prints each arg followed by a space, then a newline), `quit`/`exit`.
# FAKE_IPMI_VARIANT: new (ipmitool >= 1.8.19, timestamp and sampling period on one line; default) |
#                    old (1.8.18) | deactivated | zero | fail (exit 1 like a missing /dev/ipmi0)
# FAKE_IPMI_SHELL: readline (prompt "ipmitool> " and the command echoed, as on a terminal; default) |
#                  quiet (no prompt, no echo) | none (built without readline: the shell is refused) |
#                  die:N (answers N commands, then exits on the next one, like a crash or a dropped LAN session) |
#                  hang (reads commands and never answers, like a BMC that stopped responding)
# FAKE_IPMI_WATTS: the reading. FAKE_IPMI_LOG: file where argv, whether IPMI_PASSWORD was set, and each
# shell command are appended.
if [ -n "$FAKE_IPMI_LOG" ]; then
  printf 'argv: %s\n' "$*" >> "$FAKE_IPMI_LOG"
  printf 'env IPMI_PASSWORD: %s\n' "${IPMI_PASSWORD:-<unset>}" >> "$FAKE_IPMI_LOG"
fi
W=${FAKE_IPMI_WATTS:-342}

reading() {
  case "${FAKE_IPMI_VARIANT:-new}" in
    fail)
      echo "Could not open device at /dev/ipmi0 or /dev/ipmi/0 or /dev/ipmidev/0: No such file or directory" >&2
      echo "Error: Unable to establish IPMI v2 / RMCP+ session" >&2
      return 1 ;;
  esac
  RW=$W
  [ "${FAKE_IPMI_VARIANT}" = zero ] && RW=0
  STATE=activated
  [ "${FAKE_IPMI_VARIANT}" = deactivated ] && STATE=deactivated
  echo
  printf '    Instantaneous power reading:              %8d Watts\n' "$RW"
  printf '    Minimum during sampling period:           %8d Watts\n' 38
  printf '    Maximum during sampling period:           %8d Watts\n' 504
  printf '    Average power reading over sample period: %8d Watts\n' 290
  if [ "${FAKE_IPMI_VARIANT}" = old ]; then
    echo '    IPMI timestamp:                           Sun Mar  6 15:13:42 2022'
    echo '    Sampling period:                          00123893 Seconds.'
  else
    echo '    IPMI timestamp:                           10/12/23 13:29:17 CEST    Sampling period:                          00065530 Seconds.'
  fi
  echo "    Power reading state is:                   $STATE"
  echo
}

last=""
for a in "$@"; do last="$a"; done
if [ "$last" != shell ]; then
  reading
  exit $?
fi

SHELL_MODE=${FAKE_IPMI_SHELL:-readline}
case "$SHELL_MODE" in
  none)
    echo "Compiled without readline, shell is disabled" >&2
    exit 255 ;;
  hang)
    while IFS= read -r line; do :; done
    exit 0 ;;
  die:*) LEFT=${SHELL_MODE#die:} ;;
  *) LEFT=-1 ;;
esac
[ "$SHELL_MODE" = quiet ] || printf 'ipmitool> '
while IFS= read -r line; do
  [ -n "$FAKE_IPMI_LOG" ] && printf 'shell: %s\n' "$line" >> "$FAKE_IPMI_LOG"
  if [ "$LEFT" -eq 0 ]; then
    echo "Error: Unable to establish IPMI v2 / RMCP+ session" >&2
    exit 1
  fi
  [ "$LEFT" -gt 0 ] && LEFT=$((LEFT - 1))
  [ "$SHELL_MODE" = quiet ] || printf '%s\n' "$line"
  case "$line" in
    '') ;;
    quit|exit) exit 0 ;;
    'dcmi power reading') reading ;;
    echo|echo\ *)
      for a in ${line#echo}; do printf '%s ' "$a"; done
      printf '\n' ;;
    *) echo "Invalid command: ${line%% *}" >&2 ;;
  esac
  [ "$SHELL_MODE" = quiet ] || printf 'ipmitool> '
done
printf '\n'
exit 0
