"""The static report: ``build_site(results_dir, out_dir)``."""

from vaebench.site.build import build_site

__all__ = ["build_site"]
