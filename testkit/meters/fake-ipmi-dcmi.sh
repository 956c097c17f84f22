#!/bin/sh
# A fake FreeIPMI `ipmi-dcmi --get-system-power-statistics [-h host -u user -D LAN_2_0 --config-file F]`.
# FAKE_IPMI_WATTS: the reading. FAKE_IPMI_LOG: argv and the config file's content are appended there.
CONF=""
prev=""
for a in "$@"; do
  [ "$prev" = "--config-file" ] && CONF="$a"
  prev="$a"
done
if [ -n "$FAKE_IPMI_LOG" ]; then
  printf 'argv: %s\n' "$*" >> "$FAKE_IPMI_LOG"
  [ -n "$CONF" ] && printf 'config: %s\n' "$(cat "$CONF")" >> "$FAKE_IPMI_LOG"
fi
W=${FAKE_IPMI_WATTS:-332}
cat <<OUT
Current Power                        : $W Watts
Minimum Power over sampling duration : 68 watts
Maximum Power over sampling duration : 504 watts
Average Power over sampling duration : 348 watts
Time Stamp                           : 11/03/2023 - 08:36:29
Statistics reporting time period     : 2685198000 milliseconds
Power Measurement                    : Active
OUT
