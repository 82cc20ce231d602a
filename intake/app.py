"""Wiring: settings → database (migrated), blob store, campaign, pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from campaign import Campaign
from intake.config import Settings
from intake.pipeline import Pipeline
from programs import warm_converter
from store.blobs import BlobStore
from store.db import make_engine, migrate, session_factory


@dataclass
class App:
    settings: Settings

    @cached_property
    def campaign(self) -> Campaign:
        return self.settings.load_campaign()

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.settings.database_url)
        migrate(engine)
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @cached_property
    def blobs(self) -> BlobStore:
        return BlobStore(self.settings.blob_dir)

    @cached_property
    def pipeline(self) -> Pipeline:
        return Pipeline(
            self.campaign,
            self.engine,
            self.sessions,
            self.blobs,
            self.settings,
            libreoffice=self.settings.libreoffice or None,
            workers=self.settings.workers,
            warm=warm_converter.shared(
                self.settings.unoserver or None, self.settings.libreoffice or None
            )
            if self.settings.converter == "warm"
            else None,
        )
