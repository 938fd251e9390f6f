-- handle_market--1.0.sql: built by the Makefile from src/sql/*.sql, in order.

\echo Use "CREATE EXTENSION handle_market" to load this file. \quit
