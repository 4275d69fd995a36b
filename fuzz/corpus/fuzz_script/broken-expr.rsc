:if ($x = [ /ip address find ]) do={ :put (1 + ) }
