#!/bin/sh
# A fake `ipmitool` for tests: `[-I lanplus -H host -U user -E] dcmi power reading` in the real layouts.
# FAKE_IPMI_VARIANT: new (ipmitool >= 1.8.19, timestamp and sampling period on one line; default) |
#                    old (1.8.18) | deactivated | zero | fail (exit 1 like a missing /dev/ipmi0)
# FAKE_IPMI_WATTS: the reading. FAKE_IPMI_LOG: file where argv and whether IPMI_PASSWORD was set are appended.
if [ -n "$FAKE_IPMI_LOG" ]; then
  printf 'argv: %s\n' "$*" >> "$FAKE_IPMI_LOG"
  printf 'env IPMI_PASSWORD: %s\n' "${IPMI_PASSWORD:-<unset>}" >> "$FAKE_IPMI_LOG"
fi
W=${FAKE_IPMI_WATTS:-342}
case "${FAKE_IPMI_VARIANT:-new}" in
  fail)
    echo "Could not open device at /dev/ipmi0 or /dev/ipmi/0 or /dev/ipmidev/0: No such file or directory" >&2
    echo "Error: Unable to establish IPMI v2 / RMCP+ session" >&2
    exit 1 ;;
  zero) W=0 ;;
esac
STATE=activated
[ "${FAKE_IPMI_VARIANT}" = deactivated ] && STATE=deactivated
echo
printf '    Instantaneous power reading:              %8d Watts\n' "$W"
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
