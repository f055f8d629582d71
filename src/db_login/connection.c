/*
 * What the OAuth validator needs of the connection being authenticated (PostgreSQL 18):
 * the database asked for and the pg_hba.conf line that chose OAuth. Port and HbaLine are
 * opaque to pgrx's bindings; this reads them with the server's own headers (see build.rs).
 */
#include "postgres.h"
#include "libpq/hba.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"

const char *
oauth_server_connection_database(void)
{
	return MyProcPort ? MyProcPort->database_name : NULL;
}

static HbaLine *
hba(void)
{
	return MyProcPort ? MyProcPort->hba : NULL;
}

const char *
oauth_server_connection_scope(void)
{
	return hba() ? hba()->oauth_scope : NULL;
}

const char *
oauth_server_connection_issuer(void)
{
	return hba() ? hba()->oauth_issuer : NULL;
}

/* 1: delegate_ident_mapping is on; 0: off; -1: no line known. */
int
oauth_server_connection_delegates_mapping(void)
{
	return hba() ? (hba()->oauth_skip_usermap ? 1 : 0) : -1;
}
