:local a 5
:global g "x"
:if ($a > 3) do={ :put "big" } else={ :put "small" }
:foreach i in=[/ip firewall filter find] do={ :put [/ip firewall filter get $i chain] }
:for j from=1 to=3 do={ /ip firewall address-list add list=l address=("10.0.0." . $j) }
:put [:len [/ip firewall address-list find list=l]]
/ip firewall address-list remove [find list=l]
:put ([:tostr 1] . "-" . [:pick "abcdef" 1 3])
