"""lyap_workflow: the sweep pipeline around :mod:`lyap_core`.

Planning grids into shards (:mod:`.sweep`), running points on dask workers, the
labelled xarray/zarr stores (:mod:`.store`), quality checks (:mod:`.quality`) and
figures (:mod:`.figures`), all from the stores. Imports ``lyap_core``; ``lyap_core``
never imports this package.
"""

__version__ = "0.1.0"
