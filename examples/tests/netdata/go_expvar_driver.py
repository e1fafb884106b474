#!/usr/bin/env python3
"""Runs netdata's go_expvar collector (python.d's go_expvar.chart.py, the installed
package's own code) once against a /debug/vars URL and prints what it collected, as JSON:

    {"check": true, "data": {...get_data()...}, "charts": {"<chart id>": <updated?>, ...}}

Usage: go_expvar_driver.py PYTHON_D_DIR URL

The job configuration is the documented example of go_expvar.conf (collect_memstats on,
plus extra_charts), with expvar keys the prism demo publishes. sys.path and the job's
base configuration are set the way python.d.plugin sets them. The collector's own netdata
protocol output (CHART/BEGIN/SET/END lines) goes to stderr; stdout holds the JSON alone.
"""

import contextlib
import json
import os
import sys
from importlib.machinery import SourceFileLoader

python_d, url = sys.argv[1], sys.argv[2]

# python.d.plugin: sys.path.append(<plugins.d>/../python.d/python_modules)
sys.path.append(os.path.join(python_d, 'python_modules'))

# python.d.plugin loads each module as 'pythond_<name>' (the framework strips the prefix).
module = SourceFileLoader('pythond_go_expvar',
                          os.path.join(python_d, 'go_expvar.chart.py')).load_module()

# python.d.plugin's JOB_BASE_CONF, then the job's own keys, job_name and override_name.
config = {
    'update_every': 1,
    'priority': 60000,
    'autodetection_retry': 0,
    'chart_cleanup': 10,
    'penalty': True,
    'name': '',
}
config.update({
    'name': 'prism_demo',
    'url': url,
    'collect_memstats': True,
    'extra_charts': [
        {
            'id': 'demo_handled',
            'options': {
                'name': 'handled',
                'title': 'demo: requests handled',
                'units': 'requests',
                'family': 'demo',
                'context': 'expvar.demo.handled',
                'chart_type': 'line',
            },
            'lines': [
                {'expvar_key': 'demo_handled', 'expvar_type': 'int', 'id': 'demo_handled'},
            ],
        },
        {
            'id': 'demo_requests',
            'options': {
                'name': 'requests',
                'title': 'demo: requests by method and code',
                'units': 'requests',
                'family': 'demo',
                'context': 'expvar.demo.requests',
                'chart_type': 'line',
            },
            'lines': [
                # A labelled family: nested maps, flattened by the module with '.'.
                {'expvar_key': 'demo_requests.GET.200', 'expvar_type': 'int',
                 'id': 'demo_requests_get_200'},
                {'expvar_key': 'demo_temperature_celsius', 'expvar_type': 'float',
                 'id': 'demo_temperature'},
            ],
        },
    ],
})
config['job_name'] = 'prism_demo'
config['override_name'] = None

with contextlib.redirect_stdout(sys.stderr):
    service = module.Service(configuration=config, name='prism_demo')
    ok = bool(service.check())
    data = service.get_data() if ok else None
    charts = {}
    if ok and data:
        service.create()
        for chart in service.charts:
            charts[chart.id] = bool(chart.update(data, 0))

print(json.dumps({'check': ok, 'data': data, 'charts': charts}, sort_keys=True))
