"""Blocks for heterogeneous graphs (HeCo's, reusable by other methods):
per-type input projection, the meta-path view and the network-schema view."""
from graphcl.nn.hetero.metapath_view import MetapathView
from graphcl.nn.hetero.schema_view import SchemaView
from graphcl.nn.hetero.type_projection import TypeProjection

__all__ = ["TypeProjection", "MetapathView", "SchemaView"]
