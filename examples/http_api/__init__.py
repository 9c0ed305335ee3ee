"""An HTTP API (payload 2.0, $default stage) with cookies."""
