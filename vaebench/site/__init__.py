"""The static report: ``build_site(results, out_dir)``, one study per results dir."""

from vaebench.site.studies import build_site

__all__ = ["build_site"]
