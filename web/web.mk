# The web UI (included by the top Makefile). docs/WEBUI.md.
#
# Plain ES modules, no bundler: the sources in web/src are copied as they
# are, with cytoscape's ES module build beside them, into $(BUILD)/web,
# which dgfsd serves at / (--web-dir; by default the "web" directory next
# to its binary). The npm packages come from web/package-lock.json
# (`npm ci`, from npm's cache when it has them) into $(BUILD)/web-npm,
# never into the source tree; playwright-core there drives the browser
# tests (tests/web/).

WEB_NPM     := $(BUILD)/web-npm
WEB_SRCS    := $(wildcard web/src/*)
WEB_OUT     := $(BUILD)/web
NPM         ?= npm

.PHONY: web
web: $(WEB_OUT)/.stamp

$(WEB_NPM)/.stamp: web/package.json web/package-lock.json
	@mkdir -p $(WEB_NPM)
	cp web/package.json web/package-lock.json $(WEB_NPM)/
	cd $(WEB_NPM) && $(NPM) ci --prefer-offline --no-audit --no-fund --ignore-scripts
	@touch $@

# Rebuilt whole (a removed source must not linger), then stamped.
$(WEB_OUT)/.stamp: $(WEB_SRCS) $(WEB_NPM)/.stamp web/web.mk
	rm -rf $(WEB_OUT) && mkdir -p $(WEB_OUT)/assets/vendor
	cp web/src/index.html $(WEB_OUT)/
	cp $(filter-out web/src/index.html,$(WEB_SRCS)) $(WEB_OUT)/assets/
	cp $(WEB_NPM)/node_modules/cytoscape/dist/cytoscape.esm.min.mjs \
		$(WEB_OUT)/assets/vendor/cytoscape.mjs
	cp $(WEB_NPM)/node_modules/cytoscape/LICENSE $(WEB_OUT)/assets/vendor/cytoscape.LICENSE
	@touch $@
