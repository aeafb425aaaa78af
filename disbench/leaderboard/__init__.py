"""The leaderboard: load and check result records, aggregate them, and publish tables, a site and Hub datasets.

Modules, one concept each: ``store`` (load records through a per-record check pipeline),
``aggregate`` (pandas summaries, ranks, adversarial gaps, the overlap ladder), ``tables``
(tabulate/Markdown/CSV/Parquet), ``facts`` (cached perceived-distance analysis per task),
``plots`` (matplotlib pictures), ``site`` (the static jinja2 site), ``hub`` (Hugging Face Hub
commit plans), ``ci`` (pull-request checks) and ``cli`` (the ``disbench`` subcommands).
"""
