"""Reference rows for the securities master, built from data bundled in PyPI packages.

Django-free on purpose: it is unit-tested without a database and the ``load_reference_data``
management command turns its output into rows. See ``docs/reference-data.md`` for the sources,
their licences and the known biases.

Sources:
- ``pytickersymbols`` (MIT): current S&P 500 members, names, ISINs and free-text industry labels
  that include the GICS sector. Industries are normalised here to GICS industry names.
- ``skfolio`` (BSD-3): adjusted daily closes of 20 S&P 500 stocks and the S&P 500 index,
  1990-01-02..2022-12-28.
- A seeded factor model for every price nobody ships (``synthetic_price_paths``).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

# --- vocabularies -------------------------------------------------------------------------------

ESG_TAGS: tuple[str, ...] = ("alcohol", "fossil_fuels", "gambling", "tobacco", "weapons")

SECURITY_KINDS: tuple[str, ...] = ("stock", "etf", "mutual_fund", "money_market", "cash")

# GICS industries by sector (the GICS structure effective March 2023).
GICS_INDUSTRIES: dict[str, tuple[str, ...]] = {
    "Energy": ("Energy Equipment & Services", "Oil, Gas & Consumable Fuels"),
    "Materials": (
        "Chemicals",
        "Construction Materials",
        "Containers & Packaging",
        "Metals & Mining",
        "Paper & Forest Products",
    ),
    "Industrials": (
        "Aerospace & Defense",
        "Building Products",
        "Construction & Engineering",
        "Electrical Equipment",
        "Industrial Conglomerates",
        "Machinery",
        "Trading Companies & Distributors",
        "Commercial Services & Supplies",
        "Professional Services",
        "Air Freight & Logistics",
        "Passenger Airlines",
        "Marine Transportation",
        "Ground Transportation",
        "Transportation Infrastructure",
    ),
    "Consumer Discretionary": (
        "Automobile Components",
        "Automobiles",
        "Household Durables",
        "Leisure Products",
        "Textiles, Apparel & Luxury Goods",
        "Hotels, Restaurants & Leisure",
        "Diversified Consumer Services",
        "Distributors",
        "Broadline Retail",
        "Specialty Retail",
    ),
    "Consumer Staples": (
        "Consumer Staples Distribution & Retail",
        "Beverages",
        "Food Products",
        "Tobacco",
        "Household Products",
        "Personal Care Products",
    ),
    "Health Care": (
        "Health Care Equipment & Supplies",
        "Health Care Providers & Services",
        "Health Care Technology",
        "Biotechnology",
        "Pharmaceuticals",
        "Life Sciences Tools & Services",
    ),
    "Financials": (
        "Banks",
        "Financial Services",
        "Consumer Finance",
        "Capital Markets",
        "Mortgage Real Estate Investment Trusts (REITs)",
        "Insurance",
    ),
    "Information Technology": (
        "IT Services",
        "Software",
        "Communications Equipment",
        "Technology Hardware, Storage & Peripherals",
        "Electronic Equipment, Instruments & Components",
        "Semiconductors & Semiconductor Equipment",
    ),
    "Communication Services": (
        "Diversified Telecommunication Services",
        "Wireless Telecommunication Services",
        "Media",
        "Entertainment",
        "Interactive Media & Services",
    ),
    "Utilities": (
        "Electric Utilities",
        "Gas Utilities",
        "Multi-Utilities",
        "Water Utilities",
        "Independent Power and Renewable Electricity Producers",
    ),
    "Real Estate": (
        "Diversified REITs",
        "Industrial REITs",
        "Hotel & Resort REITs",
        "Office REITs",
        "Health Care REITs",
        "Residential REITs",
        "Retail REITs",
        "Specialized REITs",
        "Real Estate Management & Development",
    ),
}
GICS_SECTORS: tuple[str, ...] = tuple(GICS_INDUSTRIES)

# --- ESG mapping (documented in docs/reference-data.md) -----------------------------------------

# Whole GICS industries whose business is the screened activity.
INDUSTRY_ESG_TAGS: dict[str, tuple[str, ...]] = {
    "Tobacco": ("tobacco",),
    "Oil, Gas & Consumable Fuels": ("fossil_fuels",),
    "Energy Equipment & Services": ("fossil_fuels",),
}

# Where the GICS industry is too coarse (Beverages mixes soft drinks and spirits, Hotels,
# Restaurants & Leisure mixes casinos and burger chains, Aerospace & Defense mixes weapons
# makers and aircraft-part suppliers), tags are assigned per symbol. Added to industry tags.
SYMBOL_ESG_TAGS: dict[str, tuple[str, ...]] = {
    # alcohol: brewers, distillers and vintners
    "BF.B": ("alcohol",),  # Brown-Forman: Jack Daniel's
    "STZ": ("alcohol",),  # Constellation Brands: Corona, Modelo, wine
    "TAP": ("alcohol",),  # Molson Coors: brewer
    # gambling: casino operators
    "LVS": ("gambling",),  # Las Vegas Sands: integrated resorts (casinos)
    "MGM": ("gambling",),  # MGM Resorts: casinos, BetMGM
    "WYNN": ("gambling",),  # Wynn Resorts: casinos
    # weapons: prime contractors for weapon systems and munitions, and civilian weapons
    "BA": ("weapons",),  # Boeing Defense, Space & Security: fighters, missiles
    "GD": ("weapons",),  # General Dynamics: combat vehicles, munitions, submarines
    "HII": ("weapons",),  # Huntington Ingalls: warships, nuclear submarines
    "LHX": ("weapons",),  # L3Harris: rocket motors (Aerojet Rocketdyne), weapon systems
    "LMT": ("weapons",),  # Lockheed Martin: F-35, missiles
    "NOC": ("weapons",),  # Northrop Grumman: B-21, missile defence, munitions
    "RTX": ("weapons",),  # RTX (Raytheon): missiles
    "TXT": ("weapons",),  # Textron Systems: military helicopters (Bell), munitions
    "AXON": ("weapons",),  # Axon: TASER conducted energy weapons
}

# --- sector and industry from pytickersymbols' labels --------------------------------------------

# 16 members list two GICS sectors; this is the sector S&P assigns them today.
SECTOR_OVERRIDES: dict[str, str] = {
    **dict.fromkeys(("AES", "ATO", "CEG", "CMS", "DUK", "ED"), "Utilities"),
    **dict.fromkeys(("DOC", "EQIX", "EQR", "FRT", "PSA"), "Real Estate"),
    **dict.fromkeys(("MCO", "MSCI"), "Financials"),
    "GEV": "Industrials",
    "GRMN": "Consumer Discretionary",
    "STE": "Health Care",
}

# Names pytickersymbols gets wrong.
NAME_OVERRIDES: dict[str, str] = {
    "AIZ": "Assurant",
    "APO": "Apollo Global Management",
}

# Members the label rules cannot place (their labels name a neighbouring industry).
INDUSTRY_OVERRIDES: dict[str, str] = {
    "ABT": "Health Care Equipment & Supplies",
    "BRK.B": "Financial Services",  # a multi-sector holding company, not an insurer in GICS
    "DHR": "Life Sciences Tools & Services",
    "KEYS": "Electronic Equipment, Instruments & Components",
    "LDOS": "Professional Services",
    "ORCL": "Software",
    "PCG": "Electric Utilities",
    "PFE": "Pharmaceuticals",
    "ZBRA": "Electronic Equipment, Instruments & Components",
}

# Industry rules per sector: the first regex matching any label (or the name) wins. Labels are
# free text from Wikipedia and Refinitiv; matching only within the member's own sector keeps a
# stray label (GM lists "Food & Tobacco") from leaking across sectors.
_INDUSTRY_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "Energy": (
        (
            r"oilfield|equipment and services|services and equipment|Halliburton|Baker Hughes",
            "Energy Equipment & Services",
        ),
    ),
    "Materials": (
        (r"packag|container", "Containers & Packaging"),
        (
            r"construction materials|building materials|Vulcan|Martin Marietta",
            "Construction Materials",
        ),
        (r"metal|mining|steel|gold|copper|Freeport", "Metals & Mining"),
        (r"pulp|paper", "Paper & Forest Products"),
    ),
    "Industrials": (
        (r"aerospace|defen[cs]e|arms industry|shipbuilding|Axon", "Aerospace & Defense"),
        (r"airline", "Passenger Airlines"),
        (
            r"rail|ground freight|trucking|mobility|Freight Line|J\.B\. Hunt|Uber",
            "Ground Transportation",
        ),
        (
            r"air freight|courier|logistics|freight forward|Expeditors|Robinson",
            "Air Freight & Logistics",
        ),
        (
            r"waste|Cintas|^Service$|pest control|Copart|^Water industry$",
            "Commercial Services & Supplies",
        ),
        (r"engineering|construction|Quanta|Emcor|Comfort Systems", "Construction & Engineering"),
        (
            r"HVAC|home appliances|water technology|building|Masco|Allegion|Carrier|Trane|Lennox"
            r"|Johnson Controls|Builders FirstSource",
            "Building Products",
        ),
        (
            r"electrical|electronics public|Generac|Hubbell|Rockwell|Vernova|Ametek",
            "Electrical Equipment",
        ),
        (
            r"business services|human capital|HCM|credit risk|data analytics|financial technology"
            r"|Verisk|Equifax|Leidos|Jacobs|Broadridge|Paychex|Paycom|ADP",
            "Professional Services",
        ),
        (
            r"industrial supply|distribution|United Rentals|Fastenal|Grainger|Ferguson",
            "Trading Companies & Distributors",
        ),
        (r"industrial conglomerates|3M|Honeywell", "Industrial Conglomerates"),
    ),
    "Consumer Discretionary": (
        (r"auto & truck manufacturers|Tesla|Ford|General Motors", "Automobiles"),
        (r"Genuine Parts|Pool Corp", "Distributors"),
        (r"Carvana|O'Reilly|AutoZone", "Specialty Retail"),
        (r"auto parts|automotive|Aptiv|BorgWarner", "Automobile Components"),
        (
            r"home construction|homebuild|consumer electronics|Garmin|Horton|Lennar|Pulte|NVR",
            "Household Durables",
        ),
        (
            r"apparel|clothing|fashion|textile|footwear|Deckers|Lululemon|Tapestry|Nike",
            "Textiles, Apparel & Luxury Goods",
        ),
        (r"toys|sports equipment|Hasbro", "Leisure Products"),
        (
            r"restaurant|food delivery|online food|foodservice|hospitality|lodging|hotel|cruise"
            r"|tourism|travel|gaming|casino|Airbnb|Booking|Expedia|MGM",
            "Hotels, Restaurants & Leisure",
        ),
        (r"department stores|diversified retail|e-commerce|Amazon|eBay", "Broadline Retail"),
        (r"distribut|Genuine Parts|LKQ|Pool Corp", "Distributors"),
        (r"retail|Ulta|Carvana|AutoZone|O'Reilly", "Specialty Retail"),
    ),
    "Consumer Staples": (
        (r"^Tobacco$", "Tobacco"),
        (r"^Beverages?\b|^Non-Alcoholic|drink|brewer|Monster", "Beverages"),
        (r"household products|household goods|Clorox|Church & Dwight", "Household Products"),
        (r"cosmetic|personal care|personal products|Kenvue|Colgate", "Personal Care Products"),
        (
            r"^Retail|discount|wholesale|food & drug|drug retail"
            r"|Costco|Walmart|Kroger|Sysco|Target",
            "Consumer Staples Distribution & Retail",
        ),
        (r"food|confection|packaged goods|commodities", "Food Products"),
    ),
    "Health Care": (
        (
            r"managed health|health insurance|pharmacy|providers|hospital|dialysis|\bCardinal\b"
            r"|McKesson|Cencora|Henry Schein|\bHCA\b|DaVita|Molina|Labcorp|\bQuest\b"
            r"|Universal Health",
            "Health Care Providers & Services",
        ),
        (
            r"contract research|life sciences|scientific instruments|laboratory equipment"
            r"|Agilent|Mettler|Waters|Thermo|IQVIA|Charles River|Revvity|Bio-Techne",
            "Life Sciences Tools & Services",
        ),
        (r"biotech|biopharm|Amgen|Gilead|Vertex|Regeneron|Moderna|Biogen|Incyte", "Biotechnology"),
        (r"pharma", "Pharmaceuticals"),
        (
            r"medical|device|equipment|orthodontic|health technology|Dexcom|Insulet|Idexx|ResMed"
            r"|GE HealthCare|Solventum|Steris",
            "Health Care Equipment & Supplies",
        ),
    ),
    "Financials": (
        (
            r"consumer lending|credit card|Capital One|Synchrony|American Express",
            "Consumer Finance",
        ),
        (r"^Banks?$|^Banking(?! &)|^Banking Services$|Bancorp|Bancshares|\bBank\b", "Banks"),
        (r"insurance|reinsurance|American International|MetLife|Prudential", "Insurance"),
        (
            r"asset management|investment management|private equity|exchanges|market operators"
            r"|investment banking|investment services|brokerage|financial data|ratings"
            r"|professional information|cryptocurrency|Blackstone|KKR|Schwab|Nasdaq|S&P Global"
            r"|Northern Trust|BNY|Robinhood|Interactive Brokers|CME|FactSet|Ameriprise|MSCI|Moody",
            "Capital Markets",
        ),
    ),
    "Information Technology": (
        (
            r"semiconductor|Micron|Nvidia|Applied Materials|Lam Research|KLA|Teradyne"
            r"|First Solar|photovoltaic",
            "Semiconductors & Semiconductor Equipment",
        ),
        (
            r"networking|telecommunications equipment|telecoms equipment|Motorola|Ciena|F5",
            "Communications Equipment",
        ),
        (
            r"computer hardware|computers|storage|phones|Supermicro|Dell|Hewlett Packard Enterprise"
            r"|NetApp|Apple",
            "Technology Hardware, Storage & Peripherals",
        ),
        (
            r"electronic|test & automation|RFID|geospatial|Amphenol|Corning|Jabil|Teledyne",
            "Electronic Equipment, Instruments & Components",
        ),
        (
            r"^IT Services & Consulting$|IT consulting|outsourcing|^IT$|^Business services$|Gartner"
            r"|Akamai|GoDaddy|EPAM|Verisign",
            "IT Services",
        ),
        (
            r"software|SaaS|cloud|security|Roper|FICO|mobile technology|AppLovin|Palantir",
            "Software",
        ),
    ),
    "Communication Services": (
        (r"integrated telecommunications|AT&T|Verizon", "Diversified Telecommunication Services"),
        (r"wireless telecommunications|T-Mobile", "Wireless Telecommunication Services"),
        (
            r"internet services|social media|online dating|Alphabet|Meta|Match",
            "Interactive Media & Services",
        ),
        (r"Comcast|Charter|Paramount", "Media"),
        (r"video games|Netflix|Live Nation|Warner|Walt Disney|TKO|entertainment", "Entertainment"),
        (r"media|broadcasting|publishing|advertising|Comcast|Charter|Fox|News Corp", "Media"),
    ),
    "Utilities": (
        (r"water", "Water Utilities"),
        (r"Atmos", "Gas Utilities"),
        (
            r"power generation|Vistra|NRG|Constellation Energy|AES",
            "Independent Power and Renewable Electricity Producers",
        ),
        (
            r"multiline|diversified|electric & gas|electricity natural gas|CMS|Consolidated Edison"
            r"|Dominion|DTE|Ameren|CenterPoint|NiSource|Public Service|Sempra|WEC|Duke",
            "Multi-Utilities",
        ),
    ),
    "Real Estate": (
        (
            r"self storage|storage|Iron Mountain|Digital Realty|Equinix|Crown Castle|American Tower"
            r"|SBA|Weyerhaeuser|VICI",
            "Specialized REITs",
        ),
        (r"health care|Welltower|Ventas|Healthpeak", "Health Care REITs"),
        (
            r"apartment|residential REIT|Invitation|AvalonBay|Camden|Essex|Mid-America|UDR"
            r"|Equity Residential",
            "Residential REITs",
        ),
        (r"Simon|Realty Income|Regency|Kimco|Federal Realty", "Retail REITs"),
        (r"Prologis", "Industrial REITs"),
        (r"Host Hotels", "Hotel & Resort REITs"),
        (r"BXP|Alexandria", "Office REITs"),
        (r"CBRE|CoStar", "Real Estate Management & Development"),
    ),
}

# When no rule matches: the sector's largest industry among S&P 500 members.
_DEFAULT_INDUSTRY: dict[str, str] = {
    "Energy": "Oil, Gas & Consumable Fuels",
    "Materials": "Chemicals",
    "Industrials": "Machinery",
    "Consumer Discretionary": "Specialty Retail",
    "Consumer Staples": "Food Products",
    "Health Care": "Health Care Equipment & Supplies",
    "Financials": "Financial Services",
    "Information Technology": "Software",
    "Communication Services": "Media",
    "Utilities": "Electric Utilities",
    "Real Estate": "Specialized REITs",
}

_COMPILED_RULES: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    sector: tuple((re.compile(pattern, re.IGNORECASE), industry) for pattern, industry in rules)
    for sector, rules in _INDUSTRY_RULES.items()
}

# Range Resources is one of skfolio's 20 names but no longer an S&P 500 member.
MISSING_MEMBERS: tuple[dict[str, str], ...] = (
    {
        "symbol": "RRC",
        "name": "Range Resources Corporation",
        "sector": "Energy",
        "industry": "Oil, Gas & Consumable Fuels",
    },
)


@dataclass(frozen=True, slots=True)
class ReferenceSecurity:
    """One row of the securities master, as loaded by ``load_reference_data``."""

    symbol: str
    name: str
    kind: str
    sector: str = ""
    industry: str = ""
    cusip: str = ""
    esg_tags: tuple[str, ...] = ()
    tracked_index: str = ""
    expense_ratio_rate: Decimal | None = None
    min_holding_days: int | None = None


def _compute_cusip_check_digit(base: str) -> int:
    total = 0
    for position, char in enumerate(base, start=1):
        if char.isdigit():
            value = int(char)
        elif char.isalpha():
            value = ord(char.upper()) - ord("A") + 10
        else:
            value = {"*": 36, "@": 37, "#": 38}[char]
        if position % 2 == 0:
            value *= 2
        total += value // 10 + value % 10
    return (10 - total % 10) % 10


def is_valid_cusip(cusip: str) -> bool:
    """Whether ``cusip`` has 9 characters and a correct check digit."""
    if len(cusip) != 9 or not re.fullmatch(r"[0-9A-Z*@#]{8}[0-9]", cusip):
        return False
    return _compute_cusip_check_digit(cusip[:8]) == int(cusip[8])


def _is_valid_isin(isin: str) -> bool:
    if not re.fullmatch(r"[A-Z]{2}[0-9A-Z]{9}[0-9]", isin):
        return False
    digits = "".join(str(int(char, 36)) for char in isin[:-1])
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
        total += value // 10 + value % 10
    return (10 - total % 10) % 10 == int(isin[-1])


def cusip_from_isins(isins: Sequence[str]) -> str:
    """The CUSIP inside the single valid US ISIN, or "" when there is none or several.

    A US ISIN is "US" + CUSIP + an ISIN check digit, so the CUSIP is read, not guessed.
    """
    us_isins = [isin for isin in isins if isin.startswith("US") and _is_valid_isin(isin)]
    if len(us_isins) != 1:
        return ""
    cusip = us_isins[0][2:11]
    return cusip if is_valid_cusip(cusip) else ""


def esg_tags_for(*, symbol: str, industry: str) -> tuple[str, ...]:
    """ESG tags of a security: its industry's tags plus the per-symbol list, sorted."""
    tags = set(INDUSTRY_ESG_TAGS.get(industry, ())) | set(SYMBOL_ESG_TAGS.get(symbol, ()))
    return tuple(sorted(tags))


def sector_for(*, symbol: str, labels: Sequence[str]) -> str:
    """The GICS sector among the labels, resolved by ``SECTOR_OVERRIDES`` when there are two.

    Raises:
        ValueError: when no label is a GICS sector, or two are and no override exists.
    """
    if symbol in SECTOR_OVERRIDES:
        return SECTOR_OVERRIDES[symbol]
    sectors = sorted({label for label in labels if label in GICS_INDUSTRIES})
    if len(sectors) != 1:
        raise ValueError(f"{symbol}: expected one GICS sector in {list(labels)}, got {sectors}")
    return sectors[0]


def industry_for(*, sector: str, name: str, labels: Sequence[str]) -> str:
    """Normalise free-text industry labels to a GICS industry of ``sector``."""
    candidates = [label for label in labels if label not in GICS_INDUSTRIES]
    candidates.append(name)
    for pattern, industry in _COMPILED_RULES.get(sector, ()):
        if any(pattern.search(text) for text in candidates):
            return industry
    return _DEFAULT_INDUSTRY[sector]


def sp500_companies() -> list[dict[str, object]]:
    """The S&P 500 companies as pytickersymbols ships them (one dict per member)."""
    from pytickersymbols.indices_data import INDICES

    return list(INDICES["S&P 500"]["companies"])


def reference_securities(
    companies: Iterable[Mapping[str, object]] | None = None,
) -> list[ReferenceSecurity]:
    """All reference securities: S&P 500 members (+RRC), ETFs and cash, sorted by symbol.

    Args:
        companies: pytickersymbols-shaped dicts; defaults to the bundled S&P 500 list.
    """
    rows: dict[str, ReferenceSecurity] = {}
    company_list = list(companies) if companies is not None else sp500_companies()
    cusip_counts: dict[str, int] = {}
    for company in company_list:
        isins = [str(isin) for isin in company.get("isins") or ()]  # type: ignore[attr-defined]
        cusip = cusip_from_isins(isins)
        if cusip:
            cusip_counts[cusip] = cusip_counts.get(cusip, 0) + 1
    for company in company_list:
        symbol = str(company["symbol"])
        labels = [str(label) for label in company.get("industries") or ()]  # type: ignore[attr-defined]
        name = NAME_OVERRIDES.get(symbol, str(company["name"]))
        sector = sector_for(symbol=symbol, labels=labels)
        industry = INDUSTRY_OVERRIDES.get(symbol) or industry_for(
            sector=sector, name=name, labels=labels
        )
        isins = [str(isin) for isin in company.get("isins") or ()]  # type: ignore[attr-defined]
        cusip = cusip_from_isins(isins)
        rows[symbol] = ReferenceSecurity(
            symbol=symbol,
            name=name,
            kind="stock",
            sector=sector,
            industry=industry,
            cusip=cusip if cusip_counts.get(cusip) == 1 else "",
            esg_tags=esg_tags_for(symbol=symbol, industry=industry),
        )
    for member in MISSING_MEMBERS:
        rows.setdefault(
            member["symbol"],
            ReferenceSecurity(
                symbol=member["symbol"],
                name=member["name"],
                kind="stock",
                sector=member["sector"],
                industry=member["industry"],
                esg_tags=esg_tags_for(symbol=member["symbol"], industry=member["industry"]),
            ),
        )
    for spec in FUND_SPECS:
        rows.setdefault(
            spec.symbol,
            ReferenceSecurity(
                symbol=spec.symbol,
                name=spec.name,
                kind=spec.kind,
                tracked_index=spec.tracked_index,
            ),
        )
    return [rows[symbol] for symbol in sorted(rows)]


# --- funds and cash (real names, synthetic prices) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class FundSpec:
    """A fund or cash line: its factor loading and specific volatility drive synthetic prices."""

    symbol: str
    name: str
    kind: str
    market_beta: float
    specific_vol: float  # daily, log-return units
    start_price: float  # at SYNTHETIC_ANCHOR_ON
    is_constant_nav: bool = False
    tracked_index: str = ""


FUND_SPECS: tuple[FundSpec, ...] = (
    FundSpec("SPY", "SPDR S&P 500 ETF Trust", "etf", 1.0, 0.0005, 380.0, tracked_index="S&P 500"),
    FundSpec(
        "VTI",
        "Vanguard Total Stock Market ETF",
        "etf",
        1.02,
        0.002,
        190.0,
        tracked_index="CRSP US Total Market",
    ),
    FundSpec("QQQ", "Invesco QQQ Trust", "etf", 1.2, 0.006, 265.0, tracked_index="Nasdaq-100"),
    FundSpec("EFA", "iShares MSCI EAFE ETF", "etf", 0.75, 0.006, 65.0, tracked_index="MSCI EAFE"),
    FundSpec(
        "AGG",
        "iShares Core U.S. Aggregate Bond ETF",
        "etf",
        0.05,
        0.003,
        96.0,
        tracked_index="Bloomberg US Aggregate Bond",
    ),
    FundSpec("VMFXX", "Vanguard Federal Money Market Fund", "money_market", 0.0, 0.0, 1.0, True),
    FundSpec("CASH", "Cash (USD sweep)", "cash", 0.0, 0.0, 1.0, True),
)


# --- prices ---------------------------------------------------------------------------------------

SKFOLIO_SOURCE = "skfolio sp500 (adjusted)"
CONSTANT_NAV_SOURCE = "constant NAV 1.00"

# The last skfolio date: synthetic levels are anchored here, so the 20 real names continue from
# their last real close and every series is independent of the window that gets stored.
SYNTHETIC_ANCHOR_ON = date(2022, 12, 28)

MARKET_DRIFT = 0.0003  # daily log-return mean of the market factor after the real index ends
MARKET_VOL = 0.011
SECTOR_VOL = 0.006
MIN_SYNTHETIC_PRICE = 0.01
# The specific component mean-reverts (AR(1) in log price) with this half-life in sessions, so
# a name's level stays within a band of its anchor however long the window grows; daily
# returns keep their specific volatility.
SPECIFIC_HALF_LIFE_DAYS = 250


def synthetic_source(seed: int) -> str:
    """The ``source`` label of synthetic prices generated with ``seed``."""
    return f"synthetic factor model seed={seed}"


@dataclass(frozen=True, slots=True)
class RealPrices:
    """Real adjusted closes: ``closes[i, j]`` is the close of ``symbols[j]`` on ``dates[i]``."""

    dates: tuple[date, ...]
    symbols: tuple[str, ...]
    closes: tuple[tuple[str, ...], ...]  # decimal strings, exactly as shipped
    market_log_returns: npt.NDArray[np.float64]  # S&P 500 index, len(dates) - 1


def skfolio_real_prices() -> RealPrices:
    """The 20 skfolio stocks' adjusted closes and the S&P 500 index log returns."""
    from skfolio.datasets import load_sp500_dataset, load_sp500_index

    frame = load_sp500_dataset()
    index = load_sp500_index().reindex(frame.index)
    dates = tuple(timestamp.date() for timestamp in frame.index)
    symbols = tuple(str(column) for column in frame.columns)
    # repr() of a float parsed from a short decimal string gives that string back.
    closes = tuple(tuple(repr(float(value)) for value in row) for row in frame.to_numpy())
    levels = index.iloc[:, 0].to_numpy(dtype=np.float64)
    return RealPrices(
        dates=dates,
        symbols=symbols,
        closes=closes,
        market_log_returns=np.diff(np.log(levels)),
    )


def business_days(start: date, end: date) -> list[date]:
    """Mon–Fri dates in [start, end]; exchange holidays are not removed."""
    days = []
    current = start
    while current <= end:
        if current.weekday() < 5:
            days.append(current)
        current += timedelta(days=1)
    return days


def synthetic_calendar(*, real_dates: Sequence[date], end: date) -> list[date]:
    """Real sessions up to the anchor, then business days up to ``end``."""
    calendar = [day for day in real_dates if day <= SYNTHETIC_ANCHOR_ON]
    calendar.extend(business_days(SYNTHETIC_ANCHOR_ON + timedelta(days=1), end))
    return calendar


def _rng(seed: int, key: str) -> np.random.Generator:
    # One stream per (seed, key): a symbol's path does not depend on which other symbols exist.
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


@dataclass(frozen=True, slots=True)
class SyntheticSpec:
    """Factor loadings of one synthetic series."""

    symbol: str
    sector: str
    market_beta: float
    specific_vol: float
    start_price: float  # level on SYNTHETIC_ANCHOR_ON
    is_constant_nav: bool = False


# A stock's level on SYNTHETIC_ANCHOR_ON: log-normal around the median S&P 500 share price of the
# time (about $75 before the 2020s splits), kept within a range real members trade in.
START_PRICE_MEDIAN = 75.0
START_PRICE_SIGMA = 0.6
START_PRICE_RANGE = (20.0, 300.0)


def stock_spec(
    *, symbol: str, sector: str, seed: int, start_price: float | None = None
) -> SyntheticSpec:
    """Deterministic loadings for a stock: beta 0.6–1.4, specific vol 0.8–2.2% a day.

    The level on ``SYNTHETIC_ANCHOR_ON`` is ``start_price`` (a real name's last close) or a
    seeded log-normal draw (median ``START_PRICE_MEDIAN``) clipped to ``START_PRICE_RANGE``.
    """
    rng = _rng(seed, f"params:{symbol}")
    beta, specific_vol = rng.uniform((0.6, 0.008), (1.4, 0.022))
    level = float(
        np.clip(
            np.exp(rng.normal(np.log(START_PRICE_MEDIAN), START_PRICE_SIGMA)),
            *START_PRICE_RANGE,
        )
    )
    return SyntheticSpec(
        symbol=symbol,
        sector=sector,
        market_beta=float(beta),
        specific_vol=float(specific_vol),
        start_price=level if start_price is None else start_price,
    )


def fund_spec(fund: FundSpec) -> SyntheticSpec:
    """The synthetic loadings of a fund or cash line."""
    return SyntheticSpec(
        symbol=fund.symbol,
        sector="",
        market_beta=fund.market_beta,
        specific_vol=fund.specific_vol,
        start_price=fund.start_price,
        is_constant_nav=fund.is_constant_nav,
    )


def synthetic_price_paths(
    *,
    specs: Sequence[SyntheticSpec],
    calendar: Sequence[date],
    seed: int,
    real_market_log_returns: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """Daily closes from a one-period factor model: market + sector + specific.

    log p[t, i] = sum over days of (beta_i * m + s[sector_i]) + x[t, i], with m the S&P 500
    index log return while it exists (so synthetic names live through 2008 and March 2020) and
    N(drift, vol) afterwards; sector factors are seeded normal draws; the specific level x is an
    AR(1) of seeded normal shocks (half-life ``SPECIFIC_HALF_LIFE_DAYS``). Levels are anchored
    at ``SYNTHETIC_ANCHOR_ON`` (``spec.start_price``); every value is >= MIN_SYNTHETIC_PRICE.

    Args:
        specs: one per output column.
        calendar: increasing dates; must contain SYNTHETIC_ANCHOR_ON when it is in range.
        seed: the only source of randomness: equal inputs give equal outputs.
        real_market_log_returns: index log returns for the first days of ``calendar``
            (return t is from calendar[t] to calendar[t + 1]).

    Returns:
        Array of shape (len(calendar), len(specs)).
    """
    n_days = len(calendar)
    if n_days == 0:
        return np.zeros((0, len(specs)))
    steps = n_days - 1
    market = MARKET_DRIFT + MARKET_VOL * _rng(seed, "market").standard_normal(steps)
    if real_market_log_returns is not None:
        n_real = min(len(real_market_log_returns), steps)
        market[:n_real] = real_market_log_returns[:n_real]
    sector_factors: dict[str, npt.NDArray[np.float64]] = {}
    log_returns = np.zeros((n_days, len(specs)))
    specific_level = np.zeros((n_days, len(specs)))
    reversion = float(np.exp(-np.log(2.0) / SPECIFIC_HALF_LIFE_DAYS))
    for column, spec in enumerate(specs):
        if spec.is_constant_nav:
            continue
        sector_factor = np.zeros(steps)
        if spec.sector:
            if spec.sector not in sector_factors:
                draws = _rng(seed, f"sector:{spec.sector}").standard_normal(steps)
                sector_factors[spec.sector] = SECTOR_VOL * draws
            sector_factor = sector_factors[spec.sector]
        shocks = spec.specific_vol * _rng(seed, f"specific:{spec.symbol}").standard_normal(steps)
        log_returns[1:, column] = spec.market_beta * market + sector_factor
        specific_level[1:, column] = lfilter([1.0], [1.0, -reversion], shocks)
    cumulative = np.cumsum(log_returns, axis=0) + specific_level
    anchor = _anchor_index(calendar)
    start_prices = np.array([spec.start_price for spec in specs], dtype=np.float64)
    prices: npt.NDArray[np.float64] = np.maximum(
        start_prices * np.exp(cumulative - cumulative[anchor]), MIN_SYNTHETIC_PRICE
    )
    return prices


def _anchor_index(calendar: Sequence[date]) -> int:
    if calendar[0] > SYNTHETIC_ANCHOR_ON:
        return 0
    index = 0
    for position, day in enumerate(calendar):
        if day <= SYNTHETIC_ANCHOR_ON:
            index = position
    return index


def format_price(value: float) -> str:
    """A price as a decimal string with 4 places (synthetic prices carry no more precision)."""
    return f"{value:.4f}"


# --- demo basket funds (not real funds) -----------------------------------------------------------

# Funds whose holdings are documented baskets of the master's own stocks, so look-through, fund
# overlap and fund-aware tax rules have something to work on. They are labelled as baskets in
# their names: no real fund holds exactly these. Weights are equal (rounded down to 8 places, so
# they sum to at most 1); prices are the basket's value (``basket_closes``).
BASKET_HOLDINGS_ON = date(1990, 1, 2)  # the price history's first day: every date sees them
BASKET_START_PRICE = 100.0  # each basket's value on SYNTHETIC_ANCHOR_ON
BASKET_LARGE_CAP = "large_cap"
BASKET_MID_CAP = "mid_cap"
BASKET_TOTAL_MARKET = "total_market"
BASKET_DIVIDEND = "dividend"
BASKET_TECHNOLOGY = "technology"
# The dividend basket's rule: the sectors whose members pay most of their earnings out.
DIVIDEND_SECTORS = frozenset({"Utilities", "Consumer Staples", "Real Estate", "Energy"})
_SP100_MARK = "S&P 100 component"


@dataclass(frozen=True, slots=True)
class BasketFund:
    """A demo fund: its basket rule (``BASKET_*``) and the fund fields of the master."""

    symbol: str
    name: str
    kind: str
    rule: str
    tracked_index: str
    expense_ratio_rate: Decimal
    min_holding_days: int | None = None


BASKET_FUNDS: tuple[BasketFund, ...] = (
    BasketFund(
        "LCF",
        "Large-Cap 100 ETF (demo basket, not a real fund)",
        "etf",
        BASKET_LARGE_CAP,
        "Demo Large-Cap 100 basket",
        Decimal("0.0009"),
    ),
    BasketFund(
        "LCFMX",
        "Large-Cap 100 Index Fund (demo basket, not a real fund)",
        "mutual_fund",
        BASKET_LARGE_CAP,
        "Demo Large-Cap 100 basket",
        Decimal("0.0045"),
        min_holding_days=60,
    ),
    BasketFund(
        "MCF",
        "Mid-Cap ETF: S&P 500 ex-100 (demo basket, not a real fund)",
        "etf",
        BASKET_MID_CAP,
        "Demo S&P 500 ex-100 basket",
        Decimal("0.0015"),
    ),
    BasketFund(
        "TMKT",
        "Total Market ETF (demo basket, not a real fund)",
        "etf",
        BASKET_TOTAL_MARKET,
        "Demo total-market basket",
        Decimal("0.0005"),
    ),
    BasketFund(
        "DIVF",
        "Dividend Sectors ETF (demo basket, not a real fund)",
        "etf",
        BASKET_DIVIDEND,
        "Demo dividend-sectors basket",
        Decimal("0.0035"),
    ),
    BasketFund(
        "TECF",
        "Information Technology ETF (demo basket, not a real fund)",
        "etf",
        BASKET_TECHNOLOGY,
        "Demo Information Technology basket",
        Decimal("0.0010"),
    ),
)


def basket_fund_securities() -> list[ReferenceSecurity]:
    """The demo basket funds as rows of the securities master."""
    return [
        ReferenceSecurity(
            symbol=fund.symbol,
            name=fund.name,
            kind=fund.kind,
            tracked_index=fund.tracked_index,
            expense_ratio_rate=fund.expense_ratio_rate,
            min_holding_days=fund.min_holding_days,
        )
        for fund in BASKET_FUNDS
    ]


def basket_source(anchor: date = SYNTHETIC_ANCHOR_ON) -> str:
    """``Price.source`` of a basket fund's closes: the rule that made them."""
    return f"basket of its holdings' closes, {BASKET_START_PRICE:.0f} on {anchor.isoformat()}"


def sp100_symbols(companies: Iterable[Mapping[str, object]] | None = None) -> frozenset[str]:
    """S&P 500 members that pytickersymbols' metadata lists as "S&P 100 component" (101 names).

    The bundled data carries no market capitalisation; the S&P 100 membership it copies from
    Wikipedia's "traded as" line is the documented large-cap rule of the demo baskets.
    """
    company_list = list(companies) if companies is not None else sp500_companies()
    return frozenset(
        str(company["symbol"])
        for company in company_list
        if _SP100_MARK in str((company.get("metadata") or {}).get("traded_as", ""))  # type: ignore[attr-defined]
    )


def basket_members(
    rule: str, *, stocks: Sequence[ReferenceSecurity], large_caps: frozenset[str]
) -> list[str]:
    """The symbols a basket rule picks among ``stocks``, sorted.

    ``large_cap``: the S&P 100 components; ``mid_cap``: every other stock; ``total_market``: every
    stock; ``dividend``: stocks of ``DIVIDEND_SECTORS``; ``technology``: Information Technology.
    """
    picks: dict[str, Callable[[ReferenceSecurity], bool]] = {
        BASKET_LARGE_CAP: lambda s: s.symbol in large_caps,
        BASKET_MID_CAP: lambda s: s.symbol not in large_caps,
        BASKET_TOTAL_MARKET: lambda s: True,
        BASKET_DIVIDEND: lambda s: s.sector in DIVIDEND_SECTORS,
        BASKET_TECHNOLOGY: lambda s: s.sector == "Information Technology",
    }
    pick = picks[rule]
    return sorted(s.symbol for s in stocks if s.kind == "stock" and pick(s))


def equal_weights(count: int) -> list[Decimal]:
    """``count`` equal weights rounded down to 8 places: they sum to at most 1."""
    weight = (Decimal(1) / count).quantize(Decimal("0.00000001"), rounding=ROUND_DOWN)
    return [weight] * count


def basket_closes(
    *,
    weights: npt.NDArray[np.float64],
    closes: npt.NDArray[np.float64],
    anchor_closes: npt.NDArray[np.float64],
    start_price: float = BASKET_START_PRICE,
) -> npt.NDArray[np.float64]:
    """A basket's value each day: ``start * (sum_i w_i * close_i / anchor_i + (1 - sum w))``.

    Buy and hold from the anchor day (the weights are the anchor day's), the remainder of the
    weights held as cash; ``closes`` is days x members, ``anchor_closes`` the members' closes
    on the anchor day (where the value is ``start_price``).
    """
    value = start_price * ((closes / anchor_closes) @ weights + (1.0 - weights.sum()))
    return np.asarray(value, dtype=np.float64)
