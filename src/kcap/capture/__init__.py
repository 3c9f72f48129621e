"""Recording Kalshi's WebSocket feed (``kcap record``).

Pure core, thin I/O:

* :mod:`.config` - options, endpoints, channels, the default universe (pure parsing);
* :mod:`.session` - the session protocol of one connection: commands, acks, sids, per-sid
  ``seq``, gaps and resnapshots, new markets (pure); :mod:`.envelope` - the one JSON pass per
  frame;
* :mod:`.backoff` - ``classify(exc)`` (retry or stop) and capped exponential backoff (pure);
* :mod:`.signing` - Kalshi's RSA-PSS request signing;
* :mod:`.transport` - websockets' client connection, messages handed over at the socket read;
* :mod:`.discovery` - open markets through the REST API (signed, paged);
* :mod:`.writer` / :mod:`.writer_io` - the bounded queue and the writer thread (flush, fsync,
  rotation, sealing); :mod:`.rotate` - the layout by UTC date and sealing without overwrite;
* :mod:`.recover` - sealing the files a crash left; :mod:`.manifest` - Parquet, verification,
  manifest; :mod:`.compactor` - doing that in the background; :mod:`.compact` - JSONL to Parquet;
* :mod:`.status`, :mod:`.telemetry`, :mod:`.clock` - the status line, ``stats`` and ``clock``
  records; :mod:`.run` - the recorder's main loop; :mod:`.cli_run` - the CLI glue.
"""
