

def test_method_order_follows_method_modules_not_import_order():
    # The README's methods table is generated from list_methods(): importing a
    # later method's spec first must not move it up.
    import subprocess
    import sys
    code = ("import graphcl.methods.dgp.spec, graphcl.methods.gpn.spec\n"
            "from graphcl.experiment import list_methods, registry\n"
            "print([registry._ORIGIN[m.name] for m in list_methods()])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    origins = eval(out.stdout)
    from graphcl.experiment import registry
    ranks = [registry.METHOD_MODULES.index(o) for o in origins]
    assert ranks == sorted(ranks) and set(origins) == set(registry.METHOD_MODULES)
