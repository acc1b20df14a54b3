"""renalpath: kidney cancer (RCC) decision support, calculators, registry and outcomes.

renalpath supports clinicians' decisions; it is not a certified medical device.
"""

__version__ = "0.1.0"
