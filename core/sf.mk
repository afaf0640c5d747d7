# core/sf_*: the Salesforce REST client (appended to core/libcore.la)
