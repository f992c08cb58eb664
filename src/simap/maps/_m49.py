"""UN M49 world regions and sub-regions of every ISO 3166-1 alpha-3 code (plus XKX, Kosovo).

Written for simap from the UN Statistics Division's M49 standard ("Standard country or area codes
for statistical use"); pycountry has no regions. Antarctica has no M49 region and is listed as its
own. Sub-Saharan Africa and Latin America and the Caribbean are the M49 intermediate groupings.
"""

from __future__ import annotations

from functools import lru_cache

_TABLE: dict[tuple[str, str], str] = {
    ("Africa", "Northern Africa"): ("DZA EGY ESH LBY MAR SDN TUN"),
    ("Africa", "Sub-Saharan Africa"): (
        "AGO ATF BDI BEN BFA BWA CAF CIV CMR COD COG COM CPV DJI ERI ETH GAB GHA GIN GMB GNB "
        "GNQ IOT KEN LBR LSO MDG MLI MOZ MRT MUS MWI MYT NAM NER NGA REU RWA SEN SHN SLE SOM "
        "SSD STP SWZ SYC TCD TGO TZA UGA ZAF ZMB ZWE"
    ),
    ("Americas", "Latin America and the Caribbean"): (
        "ABW AIA ARG ATG BES BHS BLM BLZ BOL BRA BRB BVT CHL COL CRI CUB CUW CYM DMA DOM ECU "
        "FLK GLP GRD GTM GUF GUY HND HTI JAM KNA LCA MAF MEX MSR MTQ NIC PAN PER PRI PRY SGS "
        "SLV SUR SXM TCA TTO URY VCT VEN VGB VIR"
    ),
    ("Americas", "Northern America"): ("BMU CAN GRL SPM USA"),
    ("Antarctica", "Antarctica"): ("ATA"),
    ("Asia", "Central Asia"): ("KAZ KGZ TJK TKM UZB"),
    ("Asia", "Eastern Asia"): ("CHN HKG JPN KOR MAC MNG PRK TWN"),
    ("Asia", "South-eastern Asia"): ("BRN IDN KHM LAO MMR MYS PHL SGP THA TLS VNM"),
    ("Asia", "Southern Asia"): ("AFG BGD BTN IND IRN LKA MDV NPL PAK"),
    ("Asia", "Western Asia"): ("ARE ARM AZE BHR CYP GEO IRQ ISR JOR KWT LBN OMN PSE QAT SAU SYR TUR YEM"),
    ("Europe", "Eastern Europe"): ("BGR BLR CZE HUN MDA MNE POL ROU RUS SRB SVK UKR"),
    ("Europe", "Northern Europe"): ("ALA DNK EST FIN FRO GBR GGY IMN IRL ISL JEY LTU LVA NOR SJM SWE"),
    ("Europe", "Southern Europe"): ("ALB AND BIH ESP GIB GRC HRV ITA MKD MLT PRT SMR SVN VAT XKX"),
    ("Europe", "Western Europe"): ("AUT BEL CHE DEU FRA LIE LUX MCO NLD"),
    ("Oceania", "Australia and New Zealand"): ("AUS CCK CXR HMD NFK NZL"),
    ("Oceania", "Melanesia"): ("FJI NCL PNG SLB VUT"),
    ("Oceania", "Micronesia"): ("FSM GUM KIR MHL MNP NRU PLW UMI"),
    ("Oceania", "Polynesia"): ("ASM COK NIU PCN PYF TKL TON TUV WLF WSM"),
}

REGIONS = ("Africa", "Americas", "Asia", "Europe", "Oceania", "Antarctica")


@lru_cache(maxsize=1)
def region_table() -> dict[str, tuple[str, str]]:
    """alpha-3 -> (region, sub-region)."""
    out: dict[str, tuple[str, str]] = {}
    for key, codes in _TABLE.items():
        for code in codes.split():
            out[code] = key
    return out
