"""Loaded by every Python process nb2service starts (the service and its notebook kernels).

nb2workflow reads the ODA ontology when it is imported, from the network by default. The demo
sets ``ODA_ONTOLOGY_PATH`` to the ontology file it chose (a cached copy, or its own small
ontology when offline); here that file becomes oda_api's process-wide ontology graph before
anything asks for it, so nothing is fetched.
"""

import os


def _seed_ontology() -> None:
    path = os.environ.get("ODA_ONTOLOGY_PATH")
    if not path or not os.path.isfile(path):
        return
    try:
        from oda_api import ontology_helper
    except ImportError:
        return
    if getattr(ontology_helper, "main_ontology_graph", None) is None:
        ontology_helper.main_ontology_graph = ontology_helper.MainOntologyGraph(path, "oda-widgets-demo")


_seed_ontology()
